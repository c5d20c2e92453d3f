"""The read side of the store (store.py): its paths, the active sets, their file check, the jobs and
the orders in progress, as the status views read them. Store (store.py) adds the lock and every
change; md_status, which only reads, takes a StoreReader, so that its AnsiballZ payload ships this
file and not the writer (issue 13 item 3). The layout is described in store.py."""

from __future__ import annotations

import hashlib
import os
import re
import threading

from .clock import Clock
from .errors import StoreError
from .fsutil import read_bytes, read_with_identity
from .state.certset import CertSet
from .state.fields import CorruptStateError, NewerStateError, parse_state, read_state, set_aside
from .state.job import JobState
from .state.order import OrderState
from .state.verified import VERIFIED_FILE, Verified, book_from_json, identity_of

SET_FILE = "set.json"
ORDER_FILE = "order.json"
KEY_FILE = "privkey.pem"
CERT_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"
FULLCHAIN_FILE = "fullchain.pem"
SET_FILES = (KEY_FILE, CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE)  # fullchain last: it marks a key type done
MD_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$")


_CHECKED_NAMES: set[str] = set()  # a run asks for the paths of each domain some 20 times


def check_md_name(name: str) -> str:
    """Managed domain names become folder names: no separators, no dot-files, no '..'."""
    if name in _CHECKED_NAMES:
        return name
    if not MD_NAME_RE.fullmatch(name or "") or ".." in name:  # fullmatch: '$' would allow a final '\n'
        raise StoreError("invalid managed domain name for the store: %r" % (name,))
    if len(_CHECKED_NAMES) < 100000:
        _CHECKED_NAMES.add(name)
    return name


def _identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def default_challenges_dir(root: str) -> str:
    """http-01 tokens live beside the store, not in it: the store is 0700 (keys), the web server's
    workers must read the tokens (/var/lib/mdfleet -> /var/lib/mdfleet-challenges)."""
    return os.path.abspath(root).rstrip(os.sep) + "-challenges"


class StoreReader:
    """Paths and reads of one store (Store: also its lock and changes)."""

    def __init__(self, root: str, clock: Clock | None = None) -> None:
        self.root = os.path.abspath(root)
        self._base = self.root.rstrip("/")  # what path() joins to ("/" itself: "")
        self.clock = clock or Clock()
        self.notes: list[str] = []  # repairs made while reading (corrupt files set aside), for the run's report
        self._lock = None  # Store.lock()'s latest StoreLock (store.py); a reader never locks
        self._sets: dict[str, tuple[tuple, CertSet]] = {}  # md -> (identity of its set.json, the set): see active_set
        self._verified: dict[str, Verified] | None = None  # verified.json as read, and what damage() found since
        self._verified_changed = False
        # Within one hold of the lock (a run): each job as read, by the identity of its
        # file, and each active set's damage() by the identity of its files (the plan and the
        # status views ask for both; nobody else writes the store meanwhile).
        self._jobs: dict[str, tuple[tuple, JobState]] = {}
        self._damage: dict[str, tuple[tuple, str | None]] = {}
        self._staged: set[str] | None = None  # what staging/ holds, listed once while the lock is held
        self._notes_lock = threading.Lock()

    # -- layout -----------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    # The paths of a domain, as path() gives them, without os.path.join (a checked md name has no
    # separator): a run of 1,000 domains asks for some 20,000.
    def staging_dir(self, md: str) -> str:
        return "%s/staging/%s" % (self._base, check_md_name(md))

    def active_dir(self, md: str) -> str:
        return "%s/domains/%s" % (self._base, check_md_name(md))

    def job_path(self, md: str) -> str:
        return "%s/jobs/%s.json" % (self._base, check_md_name(md))

    def ocsp_dir(self, md: str) -> str:
        return "%s/ocsp/%s" % (self._base, check_md_name(md))

    def status_dir(self) -> str:
        return self.path("status")

    # -- active sets ------------------------------------------------------------------------
    def managed_names(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.path("domains")) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def active_set(self, md: str) -> CertSet | None:
        """The set.json of the active set of ``md`` or None. Raises CorruptStateError (or
        NewerStateError) naming the file when it does not read: an active set is never guessed.

        A set read before is returned again while the file behind the link is the same (device,
        inode, mtime, size): an archive's set.json never changes once sealed, and a run's plan,
        stapling and status each ask for every domain's set (CertSet is immutable)."""
        return self._cached_state(self._sets, md, os.path.join(self.active_dir(md), SET_FILE), CertSet.from_json,
                                  keep=True)

    @staticmethod
    def _cached_state(cache: dict, md: str, path: str, parse, keep: bool):
        """The state in ``path`` (read_state's value and errors), from ``cache`` while the file is
        the one read before (one stat); else read with the identity of the file read (one open,
        fstat, read) and kept there when ``keep``."""
        known = cache.get(md)
        if known is not None:
            try:
                if _identity(os.stat(path)) == known[0]:
                    return known[1]
            except OSError:
                pass
        try:
            got = read_with_identity(path)
        except IsADirectoryError:
            raise CorruptStateError(path, "a folder where a file must be") from None
        except OSError as exc:
            raise StoreError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        if got is None:
            cache.pop(md, None)
            return None
        value = parse_state(path, got[1], parse)
        if keep and value is not None:
            cache[md] = (got[0], value)
        return value

    def active_folder(self, md: str) -> str | None:
        """The archive folder domains/<md> points at now (immutable until pruned), or None: read a
        whole set from here, never through the link that a concurrent activation may swap."""
        try:
            target = os.readlink(self.active_dir(md))
        except OSError:
            return None
        return os.path.normpath(os.path.join(self.path("domains"), target))

    def intact_set(self, md: str) -> CertSet | None:
        """The active set, or None when there is none or its set.json does not read (the plan
        and the status views say so; readers that only use it, e.g. for ``replaces``, take none)."""
        try:
            return self.active_set(md)
        except CorruptStateError:
            return None

    def damage(self, md: str, cert_set: CertSet) -> str | None:
        """What is wrong with the active set's files (missing, unreadable, or not the bytes whose
        sha256 set.json recorded at activation), or None. Web servers read these files: a damaged
        one fails at their next reload. The files are hashed only when their identity (device,
        inode, size, mtime, ctime) is not the one of the last check that passed, or that check is
        a day old (state/verified.py); else they are only looked at (stat). While the lock is held,
        a set is looked at once (the plan and the status views both ask)."""
        folder = self.active_folder(md)
        if folder is None:
            return None
        held = self._lock is not None and self._lock.held
        seen = self._damage.get(md) if held else None
        if seen is not None and seen[0] == (folder, cert_set.set_id):
            return seen[1]
        problem = self._check_files(md, folder, cert_set)
        if held:
            self._damage[md] = ((folder, cert_set.set_id), problem)
        return problem

    def known_intact(self, md: str, cert_set: CertSet) -> bool:
        """Whether damage() found this very set intact while the lock has been held (nothing is
        looked at here): its files are the bytes set.json recorded."""
        seen = self._damage.get(md) if self._lock is not None and self._lock.held else None
        return seen is not None and seen[1] is None and seen[0] == (self.active_folder(md), cert_set.set_id)

    def intact_known(self, md: str, folder: str, key_types: list[str] | tuple[str, ...], set_id: str) -> bool:
        """Whether damage() would find the active set (``folder``, ``set_id``, whose set.json
        names ``key_types``) intact without hashing a file: its result while the lock is held,
        or its files' identity as verified.json recorded it for a check that is less than a day
        old. False says nothing: then damage() must be asked (it hashes where due)."""
        if self.active_folder(md) != folder:
            return False
        if self._lock is not None and self._lock.held:
            seen = self._damage.get(md)
            if seen is not None and seen[0] == (folder, set_id):
                return seen[1] is None
        try:
            stats = [os.stat("%s/%s/%s" % (folder, kt, name)) for kt in key_types for name in SET_FILES]
        except OSError:
            return False
        known = self._verified_book().get(md)
        return known is not None and known.still(os.path.basename(folder), set_id, identity_of(stats),
                                                 self.clock.now().timestamp())

    def _check_files(self, md: str, folder: str, cert_set: CertSet) -> str | None:
        shown = self.active_dir(md)
        stats = []
        for kt in cert_set.key_types:
            for name in SET_FILES:
                try:
                    st = os.stat("%s/%s/%s" % (folder, kt, name))
                except FileNotFoundError:
                    return "%s/%s/%s is missing or empty" % (shown, kt, name)
                except OSError as exc:
                    return "%s/%s/%s cannot be read: %s" % (shown, kt, name, exc.strerror or exc)
                stats.append(st)
        identity = identity_of(stats)
        book = self._verified_book()
        known = book.get(md)
        now = self.clock.now().timestamp()
        base = os.path.basename(folder)
        if known is not None and known.still(base, cert_set.set_id or "", identity, now):
            return None
        problem = self._hash_check(folder, shown, cert_set)
        with self._notes_lock:
            if problem is None:
                book[md] = Verified(base, cert_set.set_id or "", int(now), identity)
            else:
                book.pop(md, None)
            self._verified_changed = True
        return problem

    def _hash_check(self, folder: str, shown: str, cert_set: CertSet) -> str | None:
        for kt in cert_set.key_types:
            for name in SET_FILES:
                where = os.path.join(shown, kt, name)
                try:
                    data = read_bytes(os.path.join(folder, kt, name))
                except OSError as exc:
                    return "%s cannot be read: %s" % (where, exc.strerror or exc)
                if not data:
                    return "%s is missing or empty" % where
                want = cert_set.certs[kt].files.get(name)
                if want and hashlib.sha256(data).hexdigest() != want:
                    return "%s is not the file activated with the set (damaged)" % where
        return None

    def _verified_book(self) -> dict[str, Verified]:
        """verified.json, read once per Store; one that does not read is set aside (every set is
        hashed again)."""
        if self._verified is None:
            path = self.path(VERIFIED_FILE)
            try:
                self._verified = read_state(path, book_from_json) or {}
            except CorruptStateError as exc:
                self._verified = {}
                if self._lock is not None and self._lock.held:
                    self.set_aside_corrupt(exc)
            except NewerStateError:
                self._verified = {}  # kept for the newer mdfleet; this one hashes every set
        return self._verified

    # -- jobs -------------------------------------------------------------------------------
    def read_job(self, md: str) -> JobState:
        """The renewal job of ``md`` (a fresh one when there is none); raises CorruptStateError.
        While the lock is held, a job read before is returned again as long as its file is the
        same (the plan and the status views read every job)."""
        held = self._lock is not None and self._lock.held
        job = self._cached_state(self._jobs, md, self.job_path(md), lambda doc: JobState.from_json(doc, md), keep=held)
        return job or JobState(md)

    # -- corrupt files ----------------------------------------------------------------------
    def note(self, text: str) -> None:
        with self._notes_lock:
            self.notes.append(text)

    def set_aside_corrupt(self, exc: CorruptStateError) -> str:
        """Rename the corrupt file of ``exc`` to <file>.corrupt-<time>; returns what was done (also
        kept in :attr:`notes`)."""
        aside = set_aside(exc.path, self.clock)
        text = "%s; set aside as %s" % (exc, os.path.basename(aside))
        self.note(text)
        return text

    # -- staging ----------------------------------------------------------------------------
    def _staging_holds(self, md: str) -> bool:
        """Whether staging/<md> may exist: while the lock is held, staging/ is listed once (the plan
        and the status views ask of every domain) and what this run stages is added."""
        if self._lock is None or not self._lock.held:
            return True
        if self._staged is None:
            try:
                self._staged = set(os.listdir(self.path("staging")))
            except OSError:
                return True  # then every domain looks for itself
        return md in self._staged

    def pending_order(self, md: str) -> OrderState | None:
        """staging/<md>/order.json or None; raises CorruptStateError naming it."""
        if not self._staging_holds(md):
            return None
        return read_state(os.path.join(self.staging_dir(md), ORDER_FILE), OrderState.from_json)

    def order_in_progress(self, md: str, key_types: list[str] | None = None) -> bool:
        """Whether staging holds work a run resumes: an order still in flight, or a certificate
        already downloaded for a key type (of ``key_types``, default those of the pending order).
        An order.json whose orders all failed (they are forgotten when they fail) is none, and so
        is one that does not read (the next order sets it aside)."""
        try:
            pending = self.pending_order(md)
        except (CorruptStateError, NewerStateError):
            return False
        if pending is None:
            return False
        if pending.orders or pending.ordering:
            return True
        kts = key_types if key_types is not None else pending.key_types
        staging = self.staging_dir(md)
        return any(os.path.exists(os.path.join(staging, kt, FULLCHAIN_FILE)) for kt in kts)


__all__ = ["StoreReader", "check_md_name", "default_challenges_dir", "SET_FILE", "ORDER_FILE", "KEY_FILE", "CERT_FILE",
           "CHAIN_FILE", "FULLCHAIN_FILE", "SET_FILES", "MD_NAME_RE"]
