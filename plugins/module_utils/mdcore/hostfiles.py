"""Many folders, files and links of a host in one pass (the role's mdfleet.md.host_files): what
would otherwise cost the role one Ansible module run per path. Plans first (check mode stops
there), then acts: folders (parents first), links, files (temp file + rename, one flush at the
end), then removes what a prune rule no longer wants."""

from __future__ import annotations

import fnmatch
import grp
import os
import pwd
import stat
from dataclasses import dataclass, field

from . import fsutil
from .errors import MdError

DIFF_LIMIT = 64 * 1024  # larger files are reported without their content in --diff


class Action:
    """What happened (or, in check mode, would happen) to one path."""

    CREATED = "created"
    UPDATED = "updated"  # content
    ATTRIBUTES = "attributes"  # mode or owner only
    LINKED = "linked"
    REMOVED = "removed"


@dataclass(frozen=True)
class WantDir:
    path: str
    mode: int


@dataclass(frozen=True)
class WantFile:
    path: str
    content: bytes
    mode: int
    force: bool = True  # False: an existing file keeps its content (someone else owns it)


@dataclass(frozen=True)
class WantLink:
    path: str
    target: str


@dataclass(frozen=True)
class Prune:
    """Files or links in ``folder`` whose name matches ``pattern`` and which are not wanted."""

    folder: str
    pattern: str
    keep: frozenset[str] = frozenset()


@dataclass
class HostFiles:
    dirs: list[WantDir] = field(default_factory=list)
    files: list[WantFile] = field(default_factory=list)
    links: list[WantLink] = field(default_factory=list)
    prunes: list[Prune] = field(default_factory=list)
    owner: str = "root"
    group: str = "root"


@dataclass(frozen=True)
class Change:
    path: str
    action: str
    before: str | None = None  # text content for --diff (files only)
    after: str | None = None


def ids(owner: str, group: str) -> tuple[int, int]:
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise MdError("no such user: %s" % owner) from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise MdError("no such group: %s" % group) from None
    return uid, gid


def ensure(want: HostFiles, check: bool) -> list[Change]:
    """Bring the host's paths to ``want``; with ``check`` only say what would change."""
    uid, gid = ids(want.owner, want.group)
    changes: list[Change] = []
    for folder in sorted(want.dirs, key=lambda d: d.path.count("/")):
        changes += _dir(folder, uid, gid, check)
    for link in want.links:
        changes += _link(link, check)
    written: list[str] = []
    for wanted in want.files:
        found = _file(wanted, uid, gid, check)
        changes += found
        written += [c.path for c in found if c.action in (Action.CREATED, Action.UPDATED)]
    if written and not check:
        fsutil.sync_filesystems(written)
    wanted_paths = {f.path for f in want.files} | {link.path for link in want.links}
    for rule in want.prunes:
        changes += _prune(rule, wanted_paths, check)
    return changes


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MdError("cannot read %s: %s" % (path, exc.strerror or exc)) from None


def _attributes(path: str, found: os.stat_result, mode: int, uid: int, gid: int, check: bool) -> bool:
    """Fix mode and owner; whether they differed."""
    differs = False
    if stat.S_IMODE(found.st_mode) != mode:
        differs = True
        if not check:
            os.chmod(path, mode)
    if (found.st_uid, found.st_gid) != (uid, gid):
        differs = True
        if not check:
            os.chown(path, uid, gid)
    return differs


def _dir(want: WantDir, uid: int, gid: int, check: bool) -> list[Change]:
    found = _stat(want.path)
    try:
        if found is None:
            if not check:
                os.makedirs(want.path, mode=want.mode)
                os.chmod(want.path, want.mode)  # makedirs' mode passes the umask
                os.chown(want.path, uid, gid)
            return [Change(want.path, Action.CREATED)]
        if not stat.S_ISDIR(found.st_mode):
            raise MdError("%s exists and is not a folder" % want.path)
        if _attributes(want.path, found, want.mode, uid, gid, check):
            return [Change(want.path, Action.ATTRIBUTES)]
    except OSError as exc:
        raise MdError("cannot create the folder %s: %s" % (want.path, exc.strerror or exc)) from None
    return []


def _link(want: WantLink, check: bool) -> list[Change]:
    found = _stat(want.path)
    if found is not None and stat.S_ISLNK(found.st_mode) and os.readlink(want.path) == want.target:
        return []
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise MdError("%s is a folder, not a link to %s" % (want.path, want.target))
    if not check:
        tmp = "%s%s%d" % (want.path, fsutil.TEMP_PREFIX, os.getpid())
        try:
            if os.path.lexists(tmp):
                fsutil.unlink(tmp)
            fsutil.symlink(want.target, tmp)
            fsutil.replace(tmp, want.path)  # the old file or link until the new one is there
        except OSError as exc:
            raise MdError("cannot link %s to %s: %s" % (want.path, want.target, exc.strerror or exc)) from None
    return [Change(want.path, Action.LINKED)]


def _text(data: bytes | None) -> str | None:
    if data is None or len(data) > DIFF_LIMIT:
        return None
    return data.decode("utf-8", "replace")


def _file(want: WantFile, uid: int, gid: int, check: bool) -> list[Change]:
    found = _stat(want.path)
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise MdError("%s exists and is not a file" % want.path)
    try:
        before = fsutil.read_bytes(want.path) if found is not None else None
        if found is not None and (before == want.content or not want.force):
            if _attributes(want.path, found, want.mode, uid, gid, check):
                return [Change(want.path, Action.ATTRIBUTES)]
            return []
        if not check:
            fsutil.atomic_write(want.path, want.content, want.mode, durable=False)
            os.chown(want.path, uid, gid)
    except OSError as exc:
        raise MdError("cannot write %s: %s" % (want.path, exc.strerror or exc)) from None
    action = Action.CREATED if found is None else Action.UPDATED
    return [Change(want.path, action, _text(before) if found is not None else "", _text(want.content))]


def _prune(rule: Prune, wanted: set[str], check: bool) -> list[Change]:
    try:
        names = sorted(os.listdir(rule.folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MdError("cannot list %s: %s" % (rule.folder, exc.strerror or exc)) from None
    changes = []
    for name in names:
        path = os.path.join(rule.folder, name)
        if not fnmatch.fnmatchcase(name, rule.pattern) or path in wanted or path in rule.keep:
            continue
        found = _stat(path)
        if found is None or stat.S_ISDIR(found.st_mode):
            continue
        if not check and not fsutil.remove_file(path):
            continue
        changes.append(Change(path, Action.REMOVED))
    return changes


__all__ = ["Action", "WantDir", "WantFile", "WantLink", "Prune", "HostFiles", "Change", "ensure"]
