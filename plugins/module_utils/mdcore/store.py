"""The store: where accounts, certificate sets, orders in progress, staples and status live.

Layout (root default /var/lib/mdfleet, 0700):
  accounts/<ca-id>/account.json, account.key.pem   ACME accounts, reused per CA (+EAB kid)
  archive/<md>.<N>/                                complete certificate sets, immutable once there
      set.json, <keytype>/{privkey.pem,cert.pem,chain.pem,fullchain.pem}
  domains/<md> -> ../archive/<md>.<N>              the active set: a symlink, swapped atomically
  staging/<md>/                                    a set being built; order.json remembers the order
  jobs/<md>.json                                   renewal job state (errors, backoff, log)
  dns-persist/<ca-id>.json                         issuer domain names of a CA's dns-persist-01 challenges
  ocsp/staples.json                                the staple book: every staple's metadata and response
  ocsp/<md>/<keytype>.der                          copies for certificates without staple files of their own
  events/<md>.json                                 message command bookkeeping (rate limits, retries)
  status/                                          md-status.json, domains/<md>.json, index.html, .prom
  retired/<md>/<time>/<md>.<N>/, job.json          sets of domains no longer configured (kept until purged)
  verified.json                                    active sets whose files passed the sha256 check, by file identity
  store.lock                                       one lock per store
  .clean-exit                                      the last locked run ended (not killed): no temp files of ours

http-01 tokens go to a folder beside the store (<root>-challenges, 0755), which web servers serve.

Activation is two atomic renames: staging/<md> -> archive/<md>.<N> (set.json is written last, so
an archive entry is always complete), then the domains/<md> symlink is replaced. A crash between the
two leaves the old set active and a newer complete one archived; :meth:`Store.recover` activates it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass

from .clock import Clock, Deadline
from .errors import StoreError, StoreLockedError
from .fsutil import (
    DIR_MODE,
    PRIVATE_MODE,
    PUBLIC_MODE,
    atomic_write,
    atomic_write_many,
    ensure_dir,
    ensure_dirs,
    flush,
    fsync_dir,
    json_bytes,
    read_bytes,
    remove_dead_temp_files,
    rename,
    replace,
    rmtree,
    symlink,
    unlink,
    write_json,
)
from .state.certset import CertSet
from .state.fields import CORRUPT_SUFFIX, CorruptStateError, NewerStateError, read_state
from .state.installs import INSTALLS_DIR, PendingInstall, install_path
from .state.job import JobState
from .state.order import OrderState
from .state.verified import VERIFIED_FILE, Verified, book_to_json, identity_of
from .storeread import (
    CERT_FILE,
    CHAIN_FILE,
    FULLCHAIN_FILE,
    KEY_FILE,
    ORDER_FILE,
    SET_FILE,
    SET_FILES,
    StoreReader,
    check_md_name,
    default_challenges_dir,
)

STORE_FOLDERS = ("accounts", "archive", "domains", "staging", "jobs", "ocsp", "status")
# Folders written on demand, also by modules the store cannot import (notify: events/,
# persist_records: dns-persist/): a killed run's temp files there are removed too.
WRITTEN_FOLDERS = (INSTALLS_DIR, "events", "dns-persist")
RETIRED_DIR = "retired"  # sets of managed domains no longer configured (Store.retire_md)
CLEAN_EXIT = ".clean-exit"  # see StoreLock: absent after a killed run (or from an older mdfleet)


@dataclass(frozen=True)
class ActiveCert:
    """One certificate of an active set, as web servers and stapling see it."""

    md: str
    key_type: str
    cert_path: str
    chain_path: str
    fullchain_path: str
    key_path: str


def _subfolders(folder: str, depth: int) -> list[str]:
    out = []
    try:
        entries = os.scandir(folder)
    except OSError:
        return out
    with entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                out.append(entry.path)
                if depth > 1:
                    out += _subfolders(entry.path, depth - 1)
    return out


class StoreLock:
    """An exclusive flock on store.lock, held for a whole run (timer and playbook never overlap).

    ``clean_marker``: a file that exists only while no lock holder is at work and the last one
    ended without being killed. Taking the lock removes it (durably) and says in
    :attr:`clean_before` whether it was there; releasing it creates it again. A process killed
    while holding the lock never gets there, so the next run knows it must look for that run's
    temp files, and an idle run need not walk every active set for them."""

    def __init__(self, path: str, clock: Clock, wait_seconds: float, clean_marker: str | None = None) -> None:
        self.path = path
        self.clock = clock
        self.wait_seconds = wait_seconds
        self.clean_marker = clean_marker
        self.clean_before = False
        self.unclean = False  # a forked order process of this run was killed: see Store.forked_gone
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = Deadline(self.clock, self.wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if deadline.expired():
                    os.close(fd)
                    raise StoreLockedError(
                        "store is locked by another mdfleet run (%s); gave up after %ss"
                        % (self.path, self.wait_seconds)
                    ) from None
                self.clock.sleep(deadline.bounded(0.2))
        self._fd = fd
        self.clean_before, self.unclean = False, False
        if self.clean_marker and os.path.exists(self.clean_marker):
            try:
                os.unlink(self.clean_marker)
                fsync_dir(os.path.dirname(self.clean_marker))  # gone before this run writes a temp file
                self.clean_before = True
            except OSError:
                pass  # then the run looks for temp files, as after a killed one
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            if self.clean_marker and not self.unclean:
                try:  # not fsynced: lost in a crash, the next run only looks for temp files again
                    os.close(os.open(self.clean_marker, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE))
                except OSError:
                    pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store(StoreReader):
    """Paths, reads (StoreReader, storeread.py) and atomic state changes of one store."""

    def __init__(self, root: str, clock: Clock | None = None, challenges_dir: str | None = None,
                 keep_archive: int = 5) -> None:
        super().__init__(root, clock)
        self.challenges_dir = os.path.abspath(challenges_dir) if challenges_dir else default_challenges_dir(self.root)
        self.keep_archive = keep_archive
        self._unnamed: set[str] = set()  # new staging folders whose names are not fsynced yet
        self._lock: StoreLock | None = None  # the latest lock() (recover() asks it whether the last run was killed)

    # -- layout -----------------------------------------------------------------------------
    def setup(self) -> Store:
        """Create the folders with their modes; fails clearly when the store cannot be written."""
        if (self.challenges_dir + os.sep).startswith(self.root + os.sep):
            raise StoreError("the challenges folder %s is inside the store %s, which only root may read: a web "
                             "server cannot serve http-01 tokens from there (default: %s)"
                             % (self.challenges_dir, self.root, default_challenges_dir(self.root)))
        try:  # the new folders' names made durable too
            ensure_dirs([self.root] + [self.path(sub) for sub in STORE_FOLDERS] + [self.challenges_dir],
                        {self.challenges_dir: 0o755}, durable=True)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not os.path.isdir(self.root):
                raise StoreError("store %s is not usable: %s" % (self.root, exc.strerror or exc)) from None
            # a full disk (no inode left for a folder): the run still reloads, reports and keeps the
            # old sets, as with a full disk met by the probe; what needs the folder names it
            self.note("store %s: %s (%s): new certificates, staples and status cannot be written"
                      % (self.root, exc.strerror, exc.filename))
            return self
        self._probe()
        return self

    def _probe(self) -> None:
        """Can the store be written? A probe file of this process's own (concurrent first runs
        raced on one shared name before they took the lock). A full disk is no reason to stop:
        the run still reloads, reports and keeps the old sets, and names every write that fails."""
        probe = self.path(".probe-%d-%d" % (os.getpid(), threading.get_ident()))
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
            try:
                os.write(fd, b"probe")
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                self.note("store %s: %s: new certificates, staples and status cannot be written"
                          % (self.root, exc.strerror))
            else:
                raise StoreError("store %s is not usable: %s" % (self.root, exc.strerror or exc)) from None
        finally:
            try:
                os.unlink(probe)
            except OSError:
                pass

    def lock(self, wait_seconds: float = 60.0) -> StoreLock:
        self._jobs.clear()  # what another process wrote before this run is read again
        self._damage.clear()
        self._verified, self._verified_changed = None, False
        self._staged = None
        self._lock = StoreLock(self.path("store.lock"), self.clock, wait_seconds, clean_marker=self.path(CLEAN_EXIT))
        return self._lock

    # -- active sets ------------------------------------------------------------------------
    def _forget_set(self, md: str) -> None:
        """Its archive folders change (removed, pruned, re-pointed): an inode may be used again."""
        self._sets.pop(md, None)

    def active_certs(self, md: str, cert_set: CertSet | None = None) -> list[ActiveCert]:
        """The certificates of the active set of ``md`` (``cert_set``: that set, read already)."""
        info = cert_set or self.active_set(md)
        if not info:
            return []
        base = self.active_dir(md)
        return [self._active_cert(md, base, kt) for kt in info.key_types]

    def readable_active_set(self, md: str) -> CertSet | None:
        """The active set, or None when there is none or its set.json does not read (corrupt, or
        of a newer format): a damaged domain never stops the others (its own run and status
        report it)."""
        try:
            return self.active_set(md)
        except (CorruptStateError, NewerStateError):
            return None

    def readable_active_certs(self, md: str) -> list[ActiveCert]:
        """active_certs(), or none when set.json does not read (see readable_active_set)."""
        cert_set = self.readable_active_set(md)
        return self.active_certs(md, cert_set) if cert_set else []

    def list_active(self) -> list[ActiveCert]:
        """Every active certificate whose set reads."""
        out: list[ActiveCert] = []
        for md in self.managed_names():
            out.extend(self.readable_active_certs(md))
        return out

    @staticmethod
    def _active_cert(md: str, base: str, key_type: str) -> ActiveCert:
        folder = "%s/%s/" % (base, key_type)  # key types are folder names (KEY_TYPE_RE): no join needed
        return ActiveCert(md, key_type, folder + CERT_FILE, folder + CHAIN_FILE, folder + FULLCHAIN_FILE,
                          folder + KEY_FILE)

    def _archive_numbers(self, md: str) -> list[int]:
        return self._archive_index().get(md, [])

    def _archive_index(self) -> dict[str, list[int]]:
        """md -> its archive set numbers, ascending: archive/ listed once (recover() looked at
        every entry's domain by listing the whole folder again: quadratic in the domains)."""
        index: dict[str, list[int]] = {}
        for entry in os.listdir(self.path("archive")):
            md, dot, num = entry.rpartition(".")
            if md and dot and num.isdigit():
                index.setdefault(md, []).append(int(num))
        for nums in index.values():
            nums.sort()
        return index

    def _active_number(self, md: str) -> int | None:
        try:
            target = os.readlink(self.active_dir(md))
        except (FileNotFoundError, OSError):
            return None
        suffix = target.rsplit(".", 1)[-1]
        return int(suffix) if suffix.isdigit() else None

    def _file_stats(self, folder: str, cert_set: CertSet) -> list[os.stat_result]:
        return [os.stat("%s/%s/%s" % (folder, kt, name)) for kt in cert_set.key_types for name in SET_FILES]

    def _verified_now(self, md: str, cert_set: CertSet) -> None:
        """Record the files of an active set as checked (their hashes were taken from them)."""
        folder = self.active_folder(md)
        try:
            identity = identity_of(self._file_stats(folder, cert_set)) if folder else None
        except OSError:
            identity = None  # then the next run hashes them
        book = self._verified_book()
        with self._notes_lock:
            if identity is None:
                book.pop(md, None)
            else:
                book[md] = Verified(os.path.basename(folder), cert_set.set_id or "",
                                    int(self.clock.now().timestamp()), identity)
            self._verified_changed = True

    def save_verified(self) -> None:
        """Write what damage() found out since verified.json was read (the caller holds the lock).
        Not durable: lost in a crash, the next run only hashes the sets again."""
        if not self._verified_changed or self._verified is None:
            return
        names = set(self.managed_names())
        book = {md: v for md, v in self._verified.items() if md in names}
        try:
            atomic_write(self.path(VERIFIED_FILE), json.dumps(book_to_json(book), separators=(",", ":")).encode(),
                         PRIVATE_MODE, durable=False)
        except OSError as exc:
            raise StoreError("cannot write %s: %s" % (self.path(VERIFIED_FILE), exc.strerror or exc)) from None
        self._verified_changed = False

    # -- jobs -------------------------------------------------------------------------------
    def load_job(self, md: str) -> JobState:
        """The job for a locked run: a corrupt job file (derived state) is set aside and the job
        starts afresh, saying so in its log and in the run's notes."""
        try:
            return self.read_job(md)
        except CorruptStateError as exc:
            job = JobState(md)
            job.add_log(self.clock.now(), "note", self.set_aside_corrupt(exc) + "; the job starts afresh")
            return job

    def save_job(self, job: JobState) -> None:
        self._jobs.pop(job.md, None)  # read again as written (whole seconds), not as held here
        self.write_state(self.job_path(job.md), job.to_json())

    # -- sets the web server has not loaded yet ----------------------------------------------
    def pending_installs(self) -> list[PendingInstall]:
        """Every pending install; one that does not read is set aside (its set is reloaded
        anyway: a reload is due whenever any entry, readable or not, was there)."""
        folder = self.path(INSTALLS_DIR)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError("cannot read %s: %s" % (folder, exc.strerror or exc)) from None
        out = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                entry = read_state(path, PendingInstall.from_json)
            except CorruptStateError as exc:
                self.set_aside_corrupt(exc)
                entry = PendingInstall(name[:-5], "", self.clock.now())  # still a reload to do
            if entry is not None:
                out.append(entry)
        return out

    def save_install(self, entry: PendingInstall, durable: bool = True) -> None:
        try:
            ensure_dirs([self.path(INSTALLS_DIR)], durable=True)  # the first install of this store: its name too
        except OSError as exc:
            raise StoreError("cannot create %s: %s" % (self.path(INSTALLS_DIR), exc.strerror or exc)) from None
        self.write_state(install_path(self.root, check_md_name(entry.md)), entry.to_json(), durable=durable)

    def event_fired(self, md: str, set_id: str | None, event: str) -> None:
        """``event`` of the activation of ``set_id`` went out: the pending install forgets it."""
        self.events_fired([(md, set_id, event)])

    def events_fired(self, fired: list[tuple[str, str | None, str]]) -> None:
        """:meth:`event_fired` for many (md, set_id, event) at once: the pending installs that
        changed are rewritten together (fsutil.atomic_write_many: one fsync of the folder for all),
        not one atomic_write each (at N=100 that was 200 fsyncs in a row after the orders)."""
        changed: dict[str, PendingInstall] = {}
        for md, set_id, event in fired:
            entry = changed.get(md)
            if entry is None:
                try:
                    entry = read_state(install_path(self.root, check_md_name(md)), PendingInstall.from_json)
                except CorruptStateError:
                    continue  # set aside by the next run's pending_installs()
            if entry is not None and entry.set_id == set_id and entry.events.pop(event, None) is not None:
                changed[md] = entry
        if not changed:
            return
        folder = self.path(INSTALLS_DIR)
        files = [(md + ".json", json_bytes(entry.to_json()), PRIVATE_MODE) for md, entry in sorted(changed.items())]
        try:
            atomic_write_many(folder, files)
        except OSError as exc:
            raise StoreError("cannot write %s: %s" % (exc.filename or folder, exc.strerror or exc)) from None

    def drop_install(self, md: str) -> None:
        path = install_path(self.root, check_md_name(md))
        if os.path.lexists(path):
            unlink(path)

    # -- unwritable files -------------------------------------------------------------------
    def write_state(self, path: str, doc: dict, mode: int = PRIVATE_MODE, durable: bool = True) -> None:
        """write_json, with a full disk or a read-only store as a StoreError naming the file."""
        try:
            write_json(path, doc, mode, durable)
        except OSError as exc:
            raise StoreError("cannot write %s: %s" % (path, exc.strerror or exc)) from None

    # -- staging ----------------------------------------------------------------------------
    def verified_entry(self, md: str) -> Verified | None:
        """What the file check knows of ``md``'s active set in this process (see adopt_forked)."""
        return self._verified.get(md) if self._verified is not None else None

    def adopt_forked(self, md: str, notes: list[str], verified: Verified | None) -> None:
        """What a forked order process (mdcore/orderfork.py) did to ``md``: its repair notes, its
        file check of the set it activated; staging/<md> may exist now."""
        book = self._verified_book()
        with self._notes_lock:
            self.notes.extend(notes)
            if verified is None:
                book.pop(md, None)
            else:
                book[md] = verified
            self._verified_changed = True
        self._staging_made(md)

    def forked_gone(self) -> None:
        """A forked order process of this run ended before it finished (killed): its temp files
        may be left, so the next run looks for them as after a killed run."""
        if self._lock is not None:
            self._lock.unclean = True

    def _staging_made(self, md: str) -> None:
        if self._staged is not None:
            self._staged.add(md)

    def begin_staging(self, order: OrderState) -> str:
        """staging/<md> with order.json, not durable: lost, the next run starts afresh."""
        self._staging_made(order.md)
        folder = self.staging_dir(order.md)
        if ensure_dirs([folder]):
            self._unnamed.add(folder)  # its name: fsynced with the first durable order.json
        self.save_order(order, durable=False)
        return folder

    def save_order(self, order: OrderState, durable: bool = True) -> None:
        """order.json, durable by default: an order made must be found again, not made twice."""
        self._staging_made(order.md)
        folder = self.staging_dir(order.md)
        self.write_state(os.path.join(folder, ORDER_FILE), order.to_json(), durable=durable)
        if durable and folder in self._unnamed:
            try:
                fsync_dir(os.path.dirname(folder))
            except OSError as exc:
                raise StoreError("cannot write %s: %s" % (folder, exc.strerror or exc)) from None
            self._unnamed.discard(folder)

    def discard_staging(self, md: str) -> None:
        rmtree(self.staging_dir(md))

    def stage_set(self, md: str, files: dict[str, dict[str, bytes]]) -> str:
        """A complete set made elsewhere (a fleet import: key type -> file name -> bytes) into a
        fresh staging/<md>/, private keys 0600; :meth:`activate` then seals and activates it as it
        does an ordered set. Leftovers of this md's staging go first (recover() has already
        activated a sealed one)."""
        self.discard_staging(md)
        self._staging_made(md)
        staging = ensure_dir(self.staging_dir(md))
        for kt, per in files.items():
            folder = ensure_dir(os.path.join(staging, kt))
            for name in SET_FILES:  # flushed by activate() before the seal
                atomic_write(os.path.join(folder, name), per[name], PRIVATE_MODE if name == KEY_FILE else PUBLIC_MODE,
                             durable=False)
        return staging

    def activate(self, md: str, cert_set: CertSet, events: dict[str, dict] | None = None) -> CertSet:
        """Seal staging/<md> (set.json last), move it into the archive and point domains/<md> at
        it. set.json gets a set id and each file's sha256 (a damaged file is noticed later);
        returns the set as sealed. Before the seal, installs/<md>.json remembers that the web
        server must load it, with ``events`` (name -> details) still to fire for it."""
        staging = self.staging_dir(md)
        certs = {}
        for kt in cert_set.key_types:
            digests = {}
            for name in SET_FILES:
                data = read_bytes(os.path.join(staging, kt, name))
                if not data:
                    raise StoreError("staging of %s is incomplete: %s/%s missing" % (md, kt, name))
                digests[name] = hashlib.sha256(data).hexdigest()
            certs[kt] = cert_set.certs[kt].with_files(digests)
        import secrets  # a set id: only when a set is activated

        sealed = cert_set.with_changes(md=md, certs=certs, set_id=secrets.token_hex(8))
        self.save_install(PendingInstall(md, sealed.set_id or "", self.clock.now(), dict(events or {})), durable=False)
        self._flush_staged(md, cert_set.key_types)
        self.write_state(os.path.join(staging, SET_FILE), sealed.to_json(), PUBLIC_MODE)  # fsyncs staging/ too
        self._finish_activation(md)
        self._verified_now(md, sealed)  # just hashed: the next runs only look at the files
        return sealed

    def _flush_staged(self, md: str, key_types: list[str]) -> None:
        """The set's files and its pending install (written without fsync) flushed at once
        before set.json seals the set: a sealed set survives a power cut whole."""
        staging = self.staging_dir(md)
        files = [os.path.join(staging, kt, name) for kt in key_types for name in SET_FILES]
        files.append(install_path(self.root, md))
        try:
            flush(files, [os.path.join(staging, kt) for kt in key_types] + [self.path(INSTALLS_DIR)])
        except OSError as exc:
            raise StoreError("cannot write %s: %s" % (exc.filename or staging, exc.strerror or exc)) from None

    def _finish_activation(self, md: str) -> str:
        nums = self._archive_numbers(md)
        number = (nums[-1] + 1) if nums else 1
        target = self.path("archive", "%s.%d" % (md, number))
        staging = self.staging_dir(md)
        order_file = os.path.join(staging, ORDER_FILE)
        if os.path.exists(order_file):
            unlink(order_file)  # the order is done; the archive keeps its URL in set.json
        for folder in [staging] + _subfolders(staging, depth=1):  # a set in the archive holds its files only
            remove_dead_temp_files(folder, all_of_them=True)
            for name in os.listdir(folder):
                if CORRUPT_SUFFIX in name:  # staged files set aside while building it (a folder too)
                    aside = os.path.join(folder, name)
                    if os.path.isdir(aside) and not os.path.islink(aside):
                        rmtree(aside)
                    else:
                        unlink(aside)
        rename(staging, target)
        fsync_dir(self.path("archive"))
        self._point_active(md, number)
        self._prune_archive(md)
        return target

    def _point_active(self, md: str, number: int) -> None:
        self._forget_set(md)
        link = self.active_dir(md)
        tmp = self.path("domains", ".%s.tmp" % md)
        if os.path.lexists(tmp):
            unlink(tmp)
        symlink(os.path.join("..", "archive", "%s.%d" % (md, number)), tmp)
        replace(tmp, link)
        fsync_dir(self.path("domains"))

    def _prune_archive(self, md: str) -> None:
        self._forget_set(md)
        active = self._active_number(md)
        nums = self._archive_numbers(md)
        for num in nums[: max(0, len(nums) - self.keep_archive)]:  # [:-0] would keep everything
            if num != active:
                rmtree(self.path("archive", "%s.%d" % (md, num)))

    def recover(self) -> list[str]:
        """Finish what a crashed run left: temp files of killed runs go (a partial key file must
        never move into the archive), sealed staging gets activated, the newest complete archive
        set becomes active. Unsealed staging stays (its order is resumed). Returns actions."""
        actions = []
        clean = self._lock is not None and self._lock.held and self._lock.clean_before  # the last run was not killed
        removed = 0 if clean else self._remove_dead_temp_files()
        if removed:
            actions.append("removed %d temp file(s) of killed runs" % removed)
        for entry in sorted(os.listdir(self.path("staging"))):
            if os.path.exists(os.path.join(self.path("staging", entry), SET_FILE)):
                self._finish_activation(entry)
                actions.append("activated sealed staging of %s" % entry)
            else:
                self._check_pending_order(entry)
        for md, nums in sorted(self._archive_index().items()):
            if self._active_number(md) == nums[-1]:
                continue  # the usual case: the newest set is the active one
            if os.path.exists(self.path("archive", "%s.%d" % (md, nums[-1]), SET_FILE)):
                self._point_active(md, nums[-1])
                actions.append("activated archived set %s.%d" % (md, nums[-1]))
        for leftover in os.listdir(self.path("domains")):
            if leftover.startswith(".") and leftover.endswith(".tmp"):
                unlink(self.path("domains", leftover))
        return actions

    def _check_pending_order(self, md: str) -> None:
        """An order.json in staging that does not read is set aside now (derived state: its order
        is lost, the next order of the domain makes a new one), not only when the domain is next
        ordered: a domain that is not due would keep it unnoticed."""
        try:
            self.pending_order(md)
        except CorruptStateError as exc:
            self.set_aside_corrupt(exc)
        except StoreError:
            pass  # not a managed domain's folder (check_md_name), or a newer mdfleet's order: kept

    def _remove_dead_temp_files(self) -> int:
        """atomic_write's temp files (.tmp-<pid>-...) whose process is gone, in the store's folders
        (staging and the active sets too: staples for haproxy are written beside fullchain.pem).
        The caller holds the lock, so no other run of ours is writing."""
        folders = [self.root] + [self.path(sub) for sub in STORE_FOLDERS + WRITTEN_FOLDERS]
        for top in ("staging", "ocsp", "accounts", "status"):
            folders += _subfolders(self.path(top), depth=2)
        for md in self.managed_names():
            folder = self.active_folder(md)
            if folder:
                folders += [folder] + _subfolders(folder, depth=1)
        return sum(remove_dead_temp_files(folder) for folder in folders)

    # -- retiring ---------------------------------------------------------------------------
    def retire_md(self, md: str, when: str) -> str:
        """A managed domain the configuration no longer lists: its archive sets move to
        retired/<md>/<when>/ (kept, never served, stapled or reported: `mdfleet retired --purge`
        deletes them), then its link, staging and job go. The sets leave archive/ first, so
        recover() cannot activate one again, and a run killed half-way is finished by the next
        (the dangling link or the staging left behind still name the domain). Returns the folder."""
        self._forget_set(md)
        target = self.path(RETIRED_DIR, check_md_name(md), when)
        # the new folders' names are durable before anything moves into them
        ensure_dirs([self.path(RETIRED_DIR), os.path.dirname(target), target], durable=True)
        for num in self._archive_numbers(md):
            rename(self.path("archive", "%s.%d" % (md, num)), os.path.join(target, "%s.%d" % (md, num)))
        if os.path.exists(self.job_path(md)):
            rename(self.job_path(md), os.path.join(target, "job.json"))  # its history goes with it
        fsync_dir(target)  # the sets' new names are durable before archive/ forgets the old ones
        fsync_dir(self.path("archive"))
        if os.path.lexists(self.active_dir(md)):
            unlink(self.active_dir(md))
            fsync_dir(self.path("domains"))
        self.discard_staging(md)
        self.drop_install(md)  # nothing of it is served any more
        return target

    def stored_names(self) -> list[str]:
        """Every managed domain the store holds something of: an active link (also a dangling one
        a killed retirement left), archive sets or staging."""
        names = set()
        for entry in os.listdir(self.path("domains")):
            if not entry.startswith("."):
                names.add(entry)
        for entry in os.listdir(self.path("archive")):
            md, dot, num = entry.rpartition(".")
            if md and dot and num.isdigit():
                names.add(md)
        names.update(e for e in os.listdir(self.path("staging")) if not e.startswith("."))
        return sorted(names)

    def retired(self) -> list[tuple[str, str, str]]:
        """(md, when, folder) of every retired domain's sets, oldest first."""
        out = []
        base = self.path(RETIRED_DIR)
        for md in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            for when in sorted(os.listdir(os.path.join(base, md))):
                out.append((md, when, os.path.join(base, md, when)))
        return out

    def purge_retired(self, folder: str) -> None:
        """Delete one retired domain's sets for good (keys included)."""
        base = self.path(RETIRED_DIR)
        if os.path.dirname(os.path.dirname(os.path.abspath(folder))) != base:
            raise StoreError("%s is not a retired set of the store %s" % (folder, self.root))
        rmtree(folder)
        parent = os.path.dirname(folder)
        if not os.listdir(parent):
            os.rmdir(parent)

    def remove_md(self, md: str) -> None:
        """Forget a managed domain: its link, staging, job and archive sets. (Archive sets left
        behind would make recover() activate the newest one again.)"""
        self._forget_set(md)
        for path in (self.active_dir(md), self.job_path(md)):
            if os.path.lexists(path):
                unlink(path)
        self.discard_staging(md)
        for num in self._archive_numbers(md):
            rmtree(self.path("archive", "%s.%d" % (md, num)))


__all__ = ["Store", "StoreLock", "StoreReader", "ActiveCert", "check_md_name", "default_challenges_dir", "DIR_MODE",
           "SET_FILE", "ORDER_FILE", "KEY_FILE", "CERT_FILE", "CHAIN_FILE", "FULLCHAIN_FILE", "SET_FILES"]
