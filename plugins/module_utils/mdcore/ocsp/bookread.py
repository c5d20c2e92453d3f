"""Where staples live in the store, and reading them (status views and plans read; persist.py writes):

  ocsp/staples.json              the staple book: every certificate's StapleState (its response
                                 as base64 included), one line per certificate, keyed
                                 "<md>/<key_type>" or "_others/<id>"
  ocsp/<md>/<key_type>.der       a copy of the response for certificates without a staple file
                                 of their own (nginx ssl_stapling_file can point here)
  ocsp/_others/<id>/response.der the same for other certificate files (MDStapleOthers)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import StoreError
from ..state.fields import FormatError, check_version, obj, read_state
from ..storeread import StoreReader as Store  # reads need no lock: md_status ships no store.py
from .config import OTHERS_DIR, StapleTarget
from .state import StapleState

OTHERS_STEM = "response"
BOOK_FILE = "staples.json"
BOOK_VERSION = 1


@dataclass(frozen=True)
class StaplePaths:
    key: str  # the certificate's entry in the book
    folder: str  # where its store .der copy lives
    der: str


def managed_key(md: str, key_type: str) -> str:
    """The book's key of a managed certificate (what paths_for gives it)."""
    if "/" in key_type or key_type.startswith("."):
        raise StoreError("invalid key type %r" % key_type)
    return "%s/%s" % (md, key_type)


def paths_for(store: Store, target: StapleTarget) -> StaplePaths:
    if target.managed:
        folder = store.ocsp_dir(target.md)
        stem = target.key_type
        key = managed_key(target.md, stem)
    else:
        folder = store.path("ocsp", OTHERS_DIR, target.others_id)
        stem = OTHERS_STEM
        key = "%s/%s" % (OTHERS_DIR, target.others_id)
    return StaplePaths(key, folder, os.path.join(folder, stem + ".der"))


def state_of(raw) -> StapleState | None:
    """A book entry as stored -> its StapleState; None when it cannot be read."""
    if not isinstance(raw, dict):
        return None
    try:
        return StapleState.from_json(raw)
    except (TypeError, ValueError):
        return None  # an unreadable entry: treated as nothing stored, refetched and rewritten


# (st_ino, st_size, st_mtime_ns, st_ctime_ns) -> parsed book, per path: a drive planning 1,000
# domains asks for staples 1,000 times and must not parse the book each time
BOOK_CACHE: dict[str, tuple[tuple, dict]] = {}


def stat_key(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _staples_of(doc: object) -> dict:
    """The book's JSON document -> its entries (key -> a StapleState's JSON dict, read lazily)."""
    what = "the staple book"
    doc = obj(doc, what)
    check_version(doc, BOOK_VERSION, what)
    staples = doc.get("staples")
    if not isinstance(staples, dict):
        raise FormatError("%s holds no 'staples' object" % what)
    return staples


def read_book(path: str) -> dict | None:
    """The entries of the book at ``path``, shared and read-only; None if there is none. Read as
    every store file is (state.fields.read_state): CorruptStateError for a book that does not
    read, NewerStateError for one of a newer mdfleet, StoreError when it cannot be read."""
    key = stat_key(path)
    if key is None:
        return None
    cached = BOOK_CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    staples = read_state(path, _staples_of)
    if staples is not None:
        BOOK_CACHE[path] = (key, staples)
    return staples


def stored_entries(store: Store) -> dict:
    """Every book entry as stored (JSON dicts by key), for readers: shared, do not change it."""
    found = read_book(store.path("ocsp", BOOK_FILE))
    return {} if found is None else found


def staple_state(store: Store, md: str, key_type: str) -> StapleState | None:
    """The persisted stapling metadata of one managed certificate (for the plan and status views),
    or None; a book that does not read holds none (the stapling run reports it)."""
    key = managed_key(md, key_type)
    try:
        return state_of(stored_entries(store).get(key))
    except StoreError:
        return None


def revocation_known(store: Store, md: str, key_type: str, cert_sha256: str | None) -> bool:
    """Whether stapling found this very certificate revoked (renew_required), for the plan of
    every domain at every run: the book entry is turned into a StapleState only when it says so.
    A book that does not read knows of no revocation: it holds responses only, which the stapling
    step (when enabled) sets aside and fetches again; the plans of every domain must not fail on
    it (they did, with stapling off for good)."""
    try:
        entries = stored_entries(store)
    except StoreError:  # CorruptStateError, NewerStateError: the book's, read as every store file
        return False
    raw = entries.get(managed_key(md, key_type))
    if not isinstance(raw, dict) or not raw.get("renew_required"):
        return False
    state = state_of(raw)
    return bool(state and state.renew_required and state.cert_sha256 == cert_sha256)


def staple_state_of_file(store: Store, cert_path: str) -> StapleState | None:
    """The persisted stapling metadata of an 'other' certificate file (MDStapleOthers), or None; a
    book that does not read holds none (as staple_state)."""
    try:
        return state_of(stored_entries(store).get(paths_for(store, StapleTarget(cert_path=cert_path)).key))
    except StoreError:
        return None


__all__ = ["BOOK_CACHE", "BOOK_FILE", "BOOK_VERSION", "OTHERS_STEM", "StaplePaths", "managed_key", "paths_for",
           "read_book", "revocation_known", "stat_key", "staple_state", "staple_state_of_file", "state_of",
           "stored_entries"]
