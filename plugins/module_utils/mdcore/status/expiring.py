"""The 'expiring' event: fired on each drive for every domain (or monitored file) with a
certificate inside its warn window (mod_md's MDWarnWindow, default 10% of the lifetime left) or
already expired. The notifier's rate limit keeps it to one message a day per domain. It reads a
status report, so it lives here (status -> events), not in notify."""

from __future__ import annotations

from ..clock import to_iso
from ..events import EventName, EventSink
from ..store import Store
from ..timefmt import unix
from .model import StatusReport
from .notify_view import notify_view


def expiring_details(md, now) -> dict | None:
    """What the command is told about an expiring domain, or None when nothing is expiring."""
    due = [c for c in md.certs if c.warn_at is not None and c.not_after is not None and now >= c.warn_at]
    if not due:
        return None
    first = min(due, key=lambda c: c.not_after)
    return {"key_types": [c.key_type for c in due], "not_after": to_iso(first.not_after),
            "not_after_unix": unix(first.not_after), "expired": first.not_after <= now,
            "warn_window": md.warn_window}


def check_expiring(store: Store, report: StatusReport, notifier: EventSink) -> list[str]:
    """Fire 'expiring' for every domain of ``report`` inside its warn window; returns their names.
    The report's notify views are refreshed, so status written afterwards shows failures."""
    fired = []
    for md in report.domains:
        details = expiring_details(md, report.generated)
        if details is None:
            continue
        notifier.fire(EventName.EXPIRING, md.name, details)
        fired.append(md.name)
        md.notify = notify_view(store, md.name)
    return fired


__all__ = ["check_expiring", "expiring_details"]
