"""haproxy 2.6: combined crt files and the wait after a reload.

crt files: <cert_dir>/<md>.<keytype>.pem (full chain + key, 0600: haproxy 2.6 wants them in one
file) and <cert_dir>/<md>.<keytype>.pem.ocsp (from the engine's <fullchain>.ocsp, when it is good
for the active certificate) for every active certificate of the store; files of certificates no
longer in the store go.

The wait: `systemctl reload haproxy` returns before the new worker serves the new files, and a
runtime API update sent meanwhile (`set ssl ocsp-response`) would reach the old worker, which does
not know the new certificate. So a reload is finished when `show ssl cert <file>` gives, for every
crt file, the serial that set.json recorded for it.
"""

from __future__ import annotations

import datetime
import os

from ..clock import Clock, Deadline
from ..fsutil import PRIVATE_MODE, read_bytes
from . import haproxy_api
from .active import ServedCert
from .config import GlueConfig
from .files import remove, replace_if_changed
from .staples import StapleCheck

STAPLE_SUFFIX = ".ocsp"
POLL_INTERVAL = 0.2  # between rounds of `show ssl cert` while the new worker starts
COMMAND_SECONDS = 2.0  # one runtime API exchange (bounded by the wait's deadline too)


def crt_path(cfg: GlueConfig, served: ServedCert) -> str:
    return os.path.join(cfg.haproxy_cert_dir, "%s.%s.pem" % (served.cert.md, served.cert.key_type))


def sync_haproxy(cfg: GlueConfig, sets: dict[str, list[ServedCert]], check: StapleCheck,
                 now: datetime.datetime, changed: list[str]) -> None:
    wanted = set()
    for certs in sets.values():
        for served in certs:
            cert = served.cert
            pem = crt_path(cfg, served)
            try:
                fullchain, key = read_bytes(cert.fullchain_path), read_bytes(cert.key_path)
            except OSError:
                fullchain = key = None
            if not fullchain or not key:
                continue  # an incomplete set is never half-served; haproxy keeps what it has
            wanted.update({os.path.basename(pem), os.path.basename(pem) + STAPLE_SUFFIX})
            replace_if_changed(pem, fullchain + key, PRIVATE_MODE, changed)
            staple = cert.fullchain_path + STAPLE_SUFFIX
            if check.good(cert.md, cert.key_type, staple, cert.cert_path, now):
                replace_if_changed(pem + STAPLE_SUFFIX, read_bytes(staple) or b"", PRIVATE_MODE, changed)
            else:
                remove(pem + STAPLE_SUFFIX, changed)
    for entry in sorted(os.listdir(cfg.haproxy_cert_dir)):
        if entry.endswith((".pem", ".pem" + STAPLE_SUFFIX)) and entry not in wanted:
            remove(os.path.join(cfg.haproxy_cert_dir, entry), changed)


def served_serial(answer: str) -> int | None:
    """The serial in haproxy's `show ssl cert <file>` answer, as an int (None if not there)."""
    for line in answer.splitlines():
        if line.startswith("Serial:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return None
    return None


def _serves(address: str, path: str, serial: int, deadline: Deadline, clock: Clock) -> bool:
    try:
        answer = haproxy_api.command(address, b"show ssl cert " + path.encode(), clock,
                                     max(0.001, deadline.bounded(COMMAND_SECONDS)))
    except haproxy_api.HaproxyApiError:
        return False  # the socket is gone while haproxy re-executes: ask again
    return served_serial(answer) == serial


def wait_served(cfg: GlueConfig, sets: dict[str, list[ServedCert]], clock: Clock, seconds: float) -> list[str]:
    """Wait until haproxy serves set.json's serial for every crt file; returns the files still
    not served when ``seconds`` ran out (empty: all served, or no socket to ask)."""
    if not cfg.haproxy_socket:
        return []
    wanted = {crt_path(cfg, s): s.serial for certs in sets.values() for s in certs
              if s.serial is not None and os.path.exists(crt_path(cfg, s))}
    deadline = Deadline(clock, seconds)
    while True:
        missing = [path for path, serial in wanted.items()
                   if not _serves(cfg.haproxy_socket, path, serial, deadline, clock)]
        if not missing or deadline.expired():
            return missing
        clock.sleep(deadline.bounded(POLL_INTERVAL))


__all__ = ["sync_haproxy", "wait_served", "served_serial", "crt_path"]
