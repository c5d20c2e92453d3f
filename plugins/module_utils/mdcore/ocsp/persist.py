"""Writing the staple book and its .der copies, and pruning old ones (where they live and how they are
read: bookread.py).

Why one book instead of a JSON file per certificate: a refresh of 1,000 staples then replaces
one store file instead of 1,000 (plus 1,000 .der copies), and creating files is what costs most
on ext4 (0.05-0.4 ms each, measured). The book is read once per run and written once at its
end (atomically, like every store file); status views read it once too.

Crash semantics: a run that dies before its end leaves the previous book, so the responses it
fetched are forgotten and refetched by the next run (they were due). An output file it already
wrote may hold such a newer response until then: that is still a valid response for the
certificate, never a torn file.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil

from .. import horizon
from ..clock import from_iso
from ..errors import OcspError
from ..fsutil import PRIVATE_MODE, PUBLIC_MODE, TEMP_PREFIX, atomic_write, ensure_dir, write_if_changed
from ..state.fields import CorruptStateError
from ..storeread import StoreReader as Store  # what it writes needs no lock
from .bookread import (
    BOOK_CACHE,
    BOOK_FILE,
    BOOK_VERSION,
    OTHERS_STEM,
    StaplePaths,
    paths_for,
    read_book,
    revocation_known,
    staple_state,
    staple_state_of_file,
    stat_key,
    state_of,
    stored_entries,
)
from .config import OTHERS_DIR
from .state import StapleState


def copy_folders(store: Store) -> frozenset | None:
    """The names in the store's ocsp/ folder (one listing per run: most certificates have no
    .der copy, and a stat each costs more); None when it cannot be listed (then each is looked at)."""
    try:
        return frozenset(os.listdir(store.path("ocsp")))
    except FileNotFoundError:
        return frozenset()
    except OSError:
        return None


def copy_folder(store: Store, paths: StaplePaths) -> str | None:
    """The name below ocsp/ that holds the .der copy of ``paths`` (None: not below ocsp/)."""
    prefix = store.path("ocsp") + os.sep
    if not paths.folder.startswith(prefix):
        return None
    return paths.folder[len(prefix):].split(os.sep, 1)[0]


def response_der(state: StapleState | None) -> bytes | None:
    if state is None or not state.response:
        return None
    try:
        return base64.b64decode(state.response)
    except ValueError:
        return None


# json.dumps(sort_keys=True) builds an encoder per call: one for every entry of the book costs
# more than encoding it (11 against 6 us per entry); the text is the same
_ENTRY_JSON = json.JSONEncoder(sort_keys=True)


class StapleBook:
    """Every staple's :class:`StapleState`, in ``ocsp/staples.json``.

    :meth:`get` hands out a fresh object (callers may change it and :meth:`put` it back);
    :meth:`save` writes the book when something was put or removed. Writers hold the store lock."""

    def __init__(self, path: str, entries: dict) -> None:
        self.path = path
        self._entries = entries  # key -> the JSON dict of a StapleState (as stored)
        self._texts: dict[str, str] = {}  # key -> its entry as JSON text, encoded when it was put
        self.dirty = False

    @classmethod
    def load(cls, store: Store) -> StapleBook:
        """The book to change (a private copy of its entries); one that is corrupt is set aside
        (<book>.corrupt-<time>) and the responses are fetched again. Raises StoreError when it
        cannot be read (NewerStateError: a newer mdfleet's; an I/O error)."""
        path = store.path("ocsp", BOOK_FILE)
        try:
            found = read_book(path)
        except CorruptStateError as exc:
            store.set_aside_corrupt(exc)
            return cls(path, {})
        return cls(path, {} if found is None else dict(found))

    def keys(self) -> list[str]:
        return list(self._entries)

    def stored(self, key: str) -> dict | None:
        """The entry as stored (a JSON dict): read it, do not change it."""
        return self._entries.get(key)

    def get(self, key: str) -> StapleState | None:
        return state_of(self._entries.get(key))

    def put(self, key: str, state: StapleState) -> None:
        """Record ``state`` (a snapshot: later changes of the object need another put). Its JSON
        text is made here: a stapling run puts each staple as it is finished, while the answers
        of the others arrive, so that save() at the run's end only joins the texts."""
        data = self._entries[key] = state.to_json()
        self._texts[key] = _ENTRY_JSON.encode(data)
        self.dirty = True

    def remove(self, key: str) -> None:
        self._texts.pop(key, None)
        if self._entries.pop(key, None) is not None:
            self.dirty = True

    def save(self, written: list | None = None) -> bool:
        """Write the book if it changed; returns whether it did. With ``written``: without fsync,
        the path is appended for the caller's flush (fsutil.sync_filesystems)."""
        if not self.dirty:
            return False
        # one certificate per line (grep finds a domain), C encoder (indent= is the slow Python one)
        texts = self._texts
        lines = ["%s: %s" % (json.dumps(key), texts.get(key) or _ENTRY_JSON.encode(self._entries[key]))
                 for key in sorted(self._entries)]
        text = '{"version": %d, "staples": {\n%s\n}}\n' % (BOOK_VERSION, ",\n".join(lines))
        try:
            ensure_dir(os.path.dirname(self.path))
            atomic_write(self.path, text.encode(), PRIVATE_MODE, durable=written is None)
        except OSError as exc:
            raise OcspError("cannot write %s: %s" % (self.path, exc.strerror or exc)) from None
        if written is not None:
            written.append(self.path)
        key = stat_key(self.path)
        if key is not None:
            BOOK_CACHE[self.path] = (key, dict(self._entries))
        self.dirty = False
        return True


def sync_der(paths: StaplePaths, state: StapleState, written: list | None = None) -> bool:
    """Make the store's .der copy match the stored response; returns whether it was (re)written."""
    der = response_der(state)
    if der is None:
        return False
    try:
        ensure_dir(paths.folder)
        if not write_if_changed(paths.der, der, PUBLIC_MODE, durable=written is None):
            return False
        if written is not None:
            written.append(paths.der)
        return True
    except OSError as exc:
        raise OcspError("cannot write %s: %s" % (paths.der, exc.strerror or exc)) from None


def _older(moment: datetime.datetime | None, now: datetime.datetime, keep: datetime.timedelta) -> bool:
    if moment is not None:
        horizon.note(moment + keep)  # pruned then (quiet.py)
    return moment is None or moment + keep < now


def prune(store: Store, book: StapleBook, now: datetime.datetime, keep_seconds: float) -> list[str]:
    """Forget staples whose response expired more than ``keep_seconds`` ago (and that nothing
    refreshed since), and remove the folders of domains no longer managed once nothing of
    theirs is left in the book. A response that is still valid is never removed. Returns what
    was removed: book keys and paths. Cheap enough for every run (1,000 entries: a few ms):
    only two times of each entry are read until one is old."""
    keep = datetime.timedelta(seconds=keep_seconds)
    removed: list[str] = []
    for key in sorted(book.keys()):
        raw = book.stored(key)
        try:
            next_update = from_iso(raw.get("next_update"))
        except (AttributeError, TypeError, ValueError):
            continue  # unreadable: the next refresh rewrites it
        if next_update is not None and not _older(next_update, now, keep):
            continue  # valid, or expired less than `keep` ago
        state = book.get(key)
        if state is None:
            continue
        der = _der_of_key(store, key)
        if not _older(state.last_attempt or state.fetched_at, now, keep):
            if not state.response:
                continue
            # still being retried: keep the error bookkeeping, drop the long-expired response
            state.response = state.response_sha256 = None
            book.put(key, state)
        else:
            book.remove(key)  # nobody asked for a long time: forget it
            removed.append(key)
        if der is not None and os.path.exists(der):
            os.unlink(der)
            removed.append(der)
    removed += _drop_orphan_folders(store, book)
    return removed


def _der_of_key(store: Store, key: str) -> str | None:
    first, _sep, stem = key.partition("/")
    if not stem or stem.startswith(".") or "/" in stem:
        return None
    if first == OTHERS_DIR:
        return store.path("ocsp", OTHERS_DIR, stem, OTHERS_STEM + ".der")
    return store.path("ocsp", first, stem + ".der")


def _drop_orphan_folders(store: Store, book: StapleBook) -> list[str]:
    """ocsp/<md>/ of domains no longer managed and ocsp/_others/<id>/ with nothing in the book."""
    root = store.path("ocsp")
    # the folder each entry keeps: ocsp/<md>/ for "<md>/<key_type>", ocsp/_others/<id>/ for "_others/<id>"
    owners = {key if key.startswith(OTHERS_DIR + "/") else key.rsplit("/", 1)[0] for key in book.keys()}
    managed = set(store.managed_names())
    folders = []
    for name in _listdir(root):
        if name.startswith(".") or not os.path.isdir(os.path.join(root, name)):
            continue
        if name == OTHERS_DIR:
            folders += ["%s/%s" % (OTHERS_DIR, sub) for sub in _listdir(os.path.join(root, name))]
        elif name not in managed:
            folders.append(name)
    removed = []
    for owner in folders:
        folder = os.path.join(root, owner)
        if owner in owners or [e for e in _listdir(folder) if not e.startswith(TEMP_PREFIX) and
                               not e.endswith(".der")]:
            continue  # still in the book, or holds something that is not ours
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


__all__ = ["StaplePaths", "StapleBook", "stored_entries", "state_of", "paths_for", "sync_der", "response_der",
           "staple_state", "staple_state_of_file", "revocation_known", "prune", "BOOK_FILE"]
