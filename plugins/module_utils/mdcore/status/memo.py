"""The status memo (<store>/status-memo.bin): what the status views made of each managed domain in
an earlier run, reused while the domain's inputs are the same files and the time has not reached
the earliest moment one of its outputs changes.

Why: an idle drive of 1,000 domains spent most of its status step building every domain's view
from its files and rendering it three ways (md-status JSON, the HTML rows, the Prometheus
samples), to the same text as the run before. The memo keeps those texts per domain.

What a domain's entry depends on (its key), all looked at on every run:
- its set.json (through domains/<md>), its job and the message command's bookkeeping for it:
  each file's identity (device, inode, mtime, size) and a CRC of its bytes;
- its staple book entries (compared as stored; the response by its CRC);
- its active set's files: Store.intact_known(), i.e. the check Store.damage() makes without
  hashing (a set whose last hash check is a day old, or whose files changed, is not answered
  here: the full path hashes it);
- no order in staging.
The memo's header holds what applies to every entry: the memo's format, the engine's version
and the identity of every engine file (a new engine rebuilds it), the Python (marshal's
format), the store's path, whether stapling is on and the JSON views' key names.

Only a domain whose health is ``ok`` is kept (everything else is built afresh on every run:
errors, renewals, expiring certificates, the rare cases), and only until the earliest of its
renew and warn times, its certificates' notAfter, its staples' nextUpdate and the next change
of a relative time its texts show ("expires in 12 days"); never before the time it was made
(a clock set back builds it afresh). Values that change every second (Prometheus'
x509_cert_expires_in_seconds and x509_cert_valid_since_seconds) are kept as numbers and
rendered at each run's time (prom_view.NOW).

A cache, never state: written by a locked run (without fsync: a lost memo is rebuilt), read by
every `status`. One that is missing, truncated, corrupt (its CRC), of another format or header
is ignored and rebuilt by the next drive: never an error, never a different output (the test
suite compares every output with and without it). marshal instead of JSON: the memo of 1,000
domains is some 8 MB of text that json reads in 35 ms and marshal in 12; its CRC is checked
before marshal sees a byte.
"""

from __future__ import annotations

import datetime
import hashlib
import marshal
import os
import sys
import zlib

from .. import VERSION, horizon
from ..codestamp import code_stamp
from ..errors import StoreError
from ..fsutil import PRIVATE_MODE, atomic_write, read_with_identity
from ..notify.state import EVENTS_DIR, state_path
from ..ocsp.bookread import managed_key
from ..ocsp.state import OcspStatus
from ..state.fields import CorruptStateError
from ..store import SET_FILE, Store
from ..timefmt import delta_step
from .html_view import md_rows
from .json_view import md_line
from .model import Health, MdView
from .prom_view import md_prom

MEMO_FILE = "status-memo.bin"
MAGIC = b"mdfleet status memo\n"
FORMAT = 1
MAX_BYTES = 256 * 1024 * 1024  # a memo is some 9 KB per domain: anything bigger is not one


class Fragments:
    """One domain's rendered views: its md-status line (JSON, sorted keys), its Prometheus
    samples (prom_view.md_prom), its certificates row with its relative times and its stapling
    rows (html_view.md_rows)."""

    __slots__ = ("line", "prom", "cert_row", "cert_moments", "staple_rows")

    def __init__(self, line: str, prom: tuple, cert_row: str, cert_moments: list, staple_rows: list) -> None:
        self.line, self.prom, self.cert_row, self.cert_moments, self.staple_rows = \
            line, prom, cert_row, cert_moments, staple_rows


class MemoView:
    """A domain answered by the memo: what the renderers and the report ask of a domain."""

    static = False
    certs: tuple = ()  # nothing is expiring (the memo ends at every warn time)
    notify = None

    def __init__(self, name: str, health: str, sort: tuple, fragments: Fragments) -> None:
        self.name, self.health, self._sort, self.fragments = name, health, sort, fragments

    def sort_key(self) -> tuple:
        return self._sort


def _file_key(path: str) -> tuple | None:
    got = read_with_identity(path)
    return None if got is None else (got[0], zlib.crc32(got[1]))


def _set_key(path: str) -> tuple | None:
    """set.json is sealed once, in an archive folder of its own: its identity is enough."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _listing(folder: str) -> set[str] | None:
    try:
        return set(os.listdir(folder))
    except FileNotFoundError:
        return set()
    except OSError:
        return None  # then each domain looks for itself


def _staple_key(entries: dict, md: str, key_types) -> tuple:
    """The staple book entries of a domain's certificates, as stored, by a digest (marshal's
    format 2 has no references: equal entries read from equal text give equal bytes; where
    they might not, the memo only misses)."""
    return tuple(hashlib.blake2b(marshal.dumps(entries.get(managed_key(md, kt)), 2), digest_size=16).digest()
                 for kt in key_types)


def _moments(md: MdView) -> list[datetime.datetime]:
    """Where the view of an ``ok`` domain changes with time alone."""
    out = [t for t in (md.renew_at, md.warn_at) if t is not None]
    for cert in md.certs:
        out.extend(t for t in (cert.not_after, cert.renew_at, cert.warn_at) if t is not None)
        if cert.staple is not None and cert.staple.next_update is not None:
            out.append(cert.staple.next_update)
    return out


class StatusMemo:
    def __init__(self, store: Store, stapling: bool, key_names: str) -> None:
        self.store = store
        self.header = (FORMAT, VERSION, sys.version_info[:2], marshal.version, code_stamp(), store.root,
                       bool(stapling), key_names)
        self.key_names = key_names
        self._old: dict = {}
        self._new: dict = {}
        self._files_old: dict = {}  # status file -> its identity when this content was written or found
        self._files_new: dict = {}
        self.changed = False
        self.hits = 0
        self._events: set[str] | None = None
        self._staged: set[str] | None = None

    @classmethod
    def load(cls, store: Store, stapling: bool, key_names: str) -> StatusMemo:
        """The memo of ``store``; empty when there is none or it is not one this run can use."""
        memo = cls(store, stapling, key_names)
        memo._old, memo._files_old = memo._read()
        if memo._old:  # listed once, not looked for per domain: most domains have neither
            memo._events = _listing(store.path(EVENTS_DIR))
            memo._staged = _listing(store.path("staging"))
        return memo

    def _read(self) -> tuple[dict, dict]:
        try:
            got = read_with_identity(self.store.path(MEMO_FILE))
        except OSError:
            return {}, {}
        if got is None:
            return {}, {}
        data = got[1]
        if not data.startswith(MAGIC) or len(data) > MAX_BYTES or len(data) < len(MAGIC) + 4:
            return {}, {}
        start = len(MAGIC) + 4
        if zlib.crc32(data[start:]) != int.from_bytes(data[len(MAGIC):start], "big"):
            return {}, {}
        try:
            doc = marshal.loads(data[start:])
        except (ValueError, EOFError, TypeError):
            return {}, {}
        if not (isinstance(doc, tuple) and len(doc) == 3 and doc[0] == self.header and isinstance(doc[1], dict)
                and isinstance(doc[2], dict)):
            return {}, {}
        return doc[1], doc[2]

    def written(self, path: str, data: bytes) -> bool:
        """Whether the status file ``path`` holds ``data`` as the memo knows it: the file is the
        one seen when that content was written or found (one stat instead of a read)."""
        known = self._files_old.get(path)
        if known is None or known[0][3] != len(data):
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) != known[0] or zlib.crc32(data) != known[1]:
            return False
        self._files_new[path] = known
        return True

    def file_is(self, path: str, data: bytes) -> None:
        """``path`` holds ``data`` now (written or found equal): remember its identity."""
        try:
            st = os.stat(path)
        except OSError:
            return
        self._files_new[path] = ((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), zlib.crc32(data))
        self.changed = True

    def lookup(self, name: str, now: datetime.datetime, entries: dict) -> tuple[MemoView | None, tuple | None]:
        """The memo's answer for domain ``name`` at ``now`` (None: build it), and the domain's key
        (None: it cannot be kept), taken before any of its files is read for its view."""
        store = self.store
        events = state_path(store, name)
        try:
            key = (_set_key("%s/%s" % (store.active_dir(name), SET_FILE)), _file_key(store.job_path(name)),
                   None if self._events is not None and os.path.basename(events) not in self._events
                   else _file_key(events))
        except OSError:
            return None, None
        if key[0] is None:
            return None, None  # no active set: not an ok domain
        entry = self._old.get(name)
        try:
            if entry is None or entry[0] != key or not entry[1] <= now.timestamp() < entry[2]:
                return None, key
            _key, _since, _until, health, sort, kts, set_id, folder, staples, line, prom, row, moments, staple_rows \
                = entry
            staged = self._staged is None or name in self._staged
            if staples != _staple_key(entries, name, kts) or (staged and store.order_in_progress(name)) or \
                    not store.intact_known(name, folder, kts, set_id):
                return None, key
            view = MemoView(name, health, sort, Fragments(line, prom, row, moments, staple_rows))
        except (TypeError, ValueError, IndexError):  # not an entry this code wrote
            return None, key
        self._new[name] = entry
        self.hits += 1
        return view, key

    def keep(self, md: MdView, key: tuple | None, now: datetime.datetime, entries: dict) -> None:
        """Remember the view of ``md`` (just built from the files behind ``key``) when it is one
        the memo may answer; its fragments are made now and used by this run's renderers too."""
        if key is None or md.static or md.health != Health.OK or md.renewal is None or md.renewal.order_pending:
            return
        if any(c.staple is not None and (c.staple.renew_required or c.staple.status == OcspStatus.EXPIRED)
               for c in md.certs):
            return
        folder = self.store.active_folder(md.name)
        cert_set = self.store.intact_set(md.name)
        if folder is None or cert_set is None:
            return
        rows = md_rows(md)
        if rows is None:
            return
        moments = _moments(md)
        until = md.valid_until
        if until is not None:  # health_descr: "valid, expires in 12 days"
            moments.append(until - datetime.timedelta(seconds=delta_step((until - now).total_seconds())))
        end = min(moments).timestamp() if moments else float("inf")
        if end <= now.timestamp():
            return
        made = md.fragments = Fragments(md_line(md, self.key_names), md_prom(md), *rows)
        self._new[md.name] = (key, now.timestamp(), end, md.health, md.sort_key(), tuple(cert_set.key_types),
                              cert_set.set_id or "", folder, _staple_key(entries, md.name, cert_set.key_types),
                              made.line, made.prom, made.cert_row, made.cert_moments, made.staple_rows)
        self.changed = True

    def covers(self, names) -> bool:
        """Whether each of ``names`` has its status from this memo now (answered by it or kept in
        this run); notes the earliest moment one of them changes (horizon.py, for quiet.py)."""
        entries = [self._new.get(name) for name in names]
        if any(entry is None for entry in entries):
            return False
        for entry in entries:
            horizon.note(entry[2])
        return True

    def save(self) -> None:
        """Write the entries of this run (the caller holds the lock); a memo that cannot be
        written is left: the next run builds what it lacks."""
        if not self.changed and self._new.keys() == self._old.keys() and \
                self._files_new.keys() == self._files_old.keys():
            return
        payload = marshal.dumps((self.header, self._new, self._files_new))
        path = self.store.path(MEMO_FILE)
        data = MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload
        try:
            try:
                atomic_write(path, data, PRIVATE_MODE, durable=False)
            except IsADirectoryError:  # set aside as status files are, then written
                self.store.set_aside_corrupt(CorruptStateError(path, "a folder where the status memo must be"))
                atomic_write(path, data, PRIVATE_MODE, durable=False)
        except (OSError, StoreError):
            pass


__all__ = ["StatusMemo", "MemoView", "Fragments", "MEMO_FILE", "code_stamp"]
