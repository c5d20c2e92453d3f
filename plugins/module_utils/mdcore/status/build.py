"""The status of a whole store: every managed domain (active sets and renewal jobs) plus the
monitored certificate files, most urgent first. Reading needs no lock: every source is replaced
atomically by its writer."""

from __future__ import annotations

import datetime
import os
from typing import Protocol

from ..clock import Clock
from ..errors import StoreError
from ..options.defaults import DEFAULT_RENEW_WINDOW, DEFAULT_WARN_WINDOW
from ..storeread import StoreReader, check_md_name
from ..window import Window
from .managed import managed_view
from .model import MdView, StatusReport
from .notify_view import notify_view
from .staples import discovered_others, staple_entries
from .static import static_view


class Memo(Protocol):
    """What build_status asks of the status memo (status/memo.py: StatusMemo; not imported here,
    md_status ships build without the renderings the memo imports)."""

    def lookup(self, name: str, now: datetime.datetime, entries: dict) -> tuple[object | None, tuple | None]: ...

    def keep(self, md: MdView, key: tuple | None, now: datetime.datetime, entries: dict) -> None: ...


def _list_jobs(store: StoreReader) -> list[str]:
    try:
        entries = os.listdir(store.path("jobs"))
    except OSError:
        return []
    names = []
    for entry in entries:
        if entry.endswith(".json") and not entry.startswith("."):
            try:
                names.append(check_md_name(entry[:-5]))
            except StoreError:  # a stray file is not a managed domain
                continue
    return names


def managed_domain_names(store: StoreReader) -> list[str]:
    """Every managed domain the store knows: active sets and renewal jobs (first order pending)."""
    return sorted(set(store.managed_names()) | set(_list_jobs(store)))


def build_status(store: StoreReader, clock: Clock, names: list[str] | None = None, others: list[str] | None = None,
                 stapling: bool = True, warn_window: str = DEFAULT_WARN_WINDOW,
                 memo: Memo | None = None) -> StatusReport:
    """The status of every managed domain of ``store`` (or only ``names``), plus the certificate
    files in ``others`` and those stapled as others; ``warn_window`` applies to those files.
    ``memo``: the status memo (status/memo.py), which answers for the domains whose inputs did
    not change (a MemoView in the report) and learns the others (made with the same
    ``stapling``)."""
    now = clock.now()
    report = StatusReport(generated=now, store=store.root, host=os.uname().nodename)  # gethostname(2): no socket import
    wanted = set(names) if names is not None else None
    entries = staple_entries(store) if memo is not None else {}
    for name in managed_domain_names(store):
        if wanted is not None and name not in wanted:
            continue
        key = None
        if memo is not None:
            known, key = memo.lookup(name, now, entries)
            if known is not None:
                report.domains.append(known)
                continue
        md = managed_view(store, name, now, stapling)
        md.notify = notify_view(store, name)
        if memo is not None:
            memo.keep(md, key, now, entries)
        report.domains.append(md)
    seen = {md.name for md in report.domains}
    warn = Window.parse(warn_window)
    for path in list(others or []) + discovered_others(store):
        path = os.path.abspath(path)
        if path in seen or (wanted is not None and path not in wanted):
            continue
        seen.add(path)
        md = static_view(store, path, now, warn, Window.parse(DEFAULT_RENEW_WINDOW), stapling)
        md.notify = notify_view(store, path)
        report.domains.append(md)
    report.domains.sort(key=lambda md: md.sort_key())
    return report


__all__ = ["build_status", "managed_domain_names"]
