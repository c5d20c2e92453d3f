"""verified.json: the active sets whose files were last found to be the bytes set.json recorded at
activation (their sha256), with the identity of those files then (device, inode, size, mtime and
ctime in nanoseconds, one digest for all files of the set).

Derived state (Store.damage): a run hashes an active set's files only when their identity is not
the one recorded with the last check that passed, or when that check is older than a day. Any
write to a file changes its size, mtime or ctime (ctime cannot be set back by touch or utime), a
replaced file has another inode, a copied store other inodes: all are hashed again. A file that
does not read is set aside, and every set is hashed once more.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from .. import horizon
from .fields import FormatError, check_version, kind, obj, obj_map

VERSION = 1
VERIFIED_FILE = "verified.json"
REVERIFY_SECONDS = 86400  # a set that passed is hashed again after this long, whatever its identity


def identity_of(stats: list[os.stat_result]) -> str:
    """One digest of the identities of a set's files (in the order given)."""
    text = ";".join("%d:%d:%d:%d:%d" % (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                    for st in stats)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Verified:
    """One active set that passed the check: its archive folder's name, set id, when, and the
    identity of its files then."""

    folder: str
    set_id: str
    checked: int  # unix seconds
    identity: str

    def still(self, folder: str, set_id: str, identity: str, now: float) -> bool:
        """Whether this check stands for the set as it is now (same folder, set and files, recent)."""
        horizon.note(self.checked + REVERIFY_SECONDS)  # hashed again then: an idle run ends being one
        return self.identity == identity and self.folder == folder and self.set_id == set_id and \
            0 <= now - self.checked < REVERIFY_SECONDS


def book_to_json(book: dict[str, Verified]) -> dict:
    return {"version": VERSION,
            "sets": {md: {"folder": v.folder, "set_id": v.set_id, "checked": v.checked, "identity": v.identity}
                     for md, v in sorted(book.items())}}


def book_from_json(doc: object) -> dict[str, Verified]:
    what = "verified sets"
    doc = obj(doc, what)
    check_version(doc, VERSION, what)
    out = {}
    for md, entry in obj_map(doc, "sets", what).items():
        if not isinstance(entry, dict):
            raise FormatError("%s: sets.%s must be an object, not %s" % (what, md, kind(entry)))
        folder, set_id, checked, identity = (entry.get(k) for k in ("folder", "set_id", "checked", "identity"))
        if not (isinstance(folder, str) and isinstance(set_id, str) and isinstance(identity, str)
                and isinstance(checked, int) and not isinstance(checked, bool)):
            raise FormatError("%s: sets.%s must hold folder, set_id, identity (strings) and checked (a number)"
                              % (what, md))
        out[md] = Verified(folder, set_id, checked, identity)
    return out


__all__ = ["Verified", "VERIFIED_FILE", "REVERIFY_SECONDS", "identity_of", "book_to_json", "book_from_json"]
