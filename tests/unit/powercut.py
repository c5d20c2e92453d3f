"""What a power cut would keep of a store, as far as fsync promises it (POSIX, not one file
system's habits): a file's content survives once the file was fsynced after its last write, a
name once its folder was fsynced after the last change of its entries (a create, rename,
symlink, unlink or mkdir in it). A SIGKILL keeps the page cache, so the kill tests cannot tell;
this model follows the os calls of the engine and says, at chosen moments, what would be lost. Names that were removed
are not followed: a removal undone by a power cut brings back a file nothing reads.
"""

from __future__ import annotations

import importlib
import itertools
import os
import stat
import sys
import threading
from collections.abc import Callable

import pytest


class PowerCutModel:
    """Installs itself on the os module (monkeypatch undoes it) and records, per inode and per
    folder, when it was last changed and last fsynced."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.written: dict[tuple[int, int], int] = {}  # (dev, inode) -> moment of its last write
        self.synced: dict[tuple[int, int], int] = {}  # (dev, inode) -> moment of its last fsync
        self.added: dict[tuple[str, str], int] = {}  # (folder, name) -> moment the name was last made
        self.entries_synced: dict[str, int] = {}  # folder -> moment it was last fsynced
        self.fsyncs: list[str] = []  # what was fsynced, in order
        self.flushed_all = 0  # the moment of the last syncfs (fsutil.sync_filesystems): everything durable
        self.before_rename: list[Callable[[str, str], None]] = []
        real = {name: getattr(os, name) for name in ("write", "fsync", "open", "rename", "replace", "symlink",
                                                     "mkdir")}

        def write(fd: int, data) -> int:
            st = os.fstat(fd)
            self._mark(self.written, (st.st_dev, st.st_ino))
            return real["write"](fd, data)

        def fsync(fd: int) -> None:
            real["fsync"](fd)
            st = os.fstat(fd)
            with self._lock:
                self.fsyncs.append(os.readlink("/proc/self/fd/%d" % fd))
            if stat.S_ISDIR(st.st_mode):
                self._mark(self.entries_synced, os.readlink("/proc/self/fd/%d" % fd))
            self._mark(self.synced, (st.st_dev, st.st_ino))

        def open_(path, flags, mode=0o777, *, dir_fd=None):
            fd = real["open"](path, flags, mode, dir_fd=dir_fd)
            if flags & os.O_CREAT:
                self._added(path)
            return fd

        def moved(name: str):
            def call(src, dst, *args, **kwargs):
                if name == "rename":
                    for hook in self.before_rename:
                        hook(os.fspath(src), os.fspath(dst))
                real[name](src, dst, *args, **kwargs)
                self._added(dst)
            return call

        def adding(name: str):
            def call(path, *args, **kwargs):
                real[name](path, *args, **kwargs)
                self._added(path if name != "symlink" else args[0])
            return call

        from mdcore import fsutil

        real_sync = fsutil.sync_filesystems

        def sync_filesystems(paths) -> None:
            real_sync(paths)
            with self._lock:
                self.flushed_all = next(self._seq)

        importlib.import_module("mdcore.ocsp.refresh")  # binds it by name: patched below too
        for module in list(sys.modules.values()):
            if getattr(module, "sync_filesystems", None) is real_sync:
                monkeypatch.setattr(module, "sync_filesystems", sync_filesystems)
        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "rename", moved("rename"))
        monkeypatch.setattr(os, "replace", moved("replace"))
        monkeypatch.setattr(os, "symlink", adding("symlink"))
        monkeypatch.setattr(os, "mkdir", adding("mkdir"))

    def _mark(self, table: dict, key) -> None:
        with self._lock:
            table[key] = next(self._seq)

    def _added(self, path) -> None:
        path = os.path.abspath(os.fspath(path))
        self._mark(self.added, (os.path.dirname(path), os.path.basename(path)))

    def lost(self, path: str, names_up_to: str) -> list[str]:
        """What of ``path`` a power cut now could lose: its content (a file) and its name and
        those of its folders, up to and including the folder ``names_up_to`` (whose own name is
        not asked about); [] when nothing."""
        out = []
        path = os.path.abspath(path)
        if not os.path.isdir(path) or os.path.islink(path):
            st = os.lstat(path)
            key = (st.st_dev, st.st_ino)
            synced = max(self.synced.get(key, 0), self.flushed_all)
            if not os.path.islink(path) and key in self.written and synced <= self.written[key]:
                out.append("the content of %s" % path)
        top = os.path.abspath(names_up_to)
        while len(path) > len(top):
            folder, name = os.path.split(path)
            made = self.added.get((folder, name))
            if made is not None and max(self.entries_synced.get(folder, 0), self.flushed_all) <= made:
                out.append("the name %s in %s" % (name, folder))
            path = folder
        return out

    def lost_under(self, top: str) -> list[str]:
        """:meth:`lost` for every file below folder ``top`` (names up to ``top``)."""
        out: list[str] = []
        for folder, dirs, files in os.walk(top):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                out.extend(self.lost(os.path.join(folder, name), top))
            if not files and not dirs:
                out.extend(self.lost(folder, top))
        return sorted(set(out))
