"""File system helpers: every write is temp file + fsync + rename; private things are 0600/0700."""

from __future__ import annotations

import itertools
import json
import os
import threading
from typing import Any

DIR_MODE = 0o700
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
TEMP_PREFIX = ".tmp-"  # temp files of atomic_write: .tmp-<pid>-<thread>-<n>

_temp_numbers = itertools.count()  # next() on a count is atomic under the GIL


def ensure_dir(path: str, mode: int = DIR_MODE) -> str:
    """Create ``path`` (and parents) with ``mode``; tighten the mode of an existing folder."""
    os.makedirs(path, mode=mode, exist_ok=True)
    if (os.stat(path).st_mode & 0o777) != mode:
        os.chmod(path, mode)
    return path


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, mode: int = PRIVATE_MODE, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix.
    ``durable=False`` skips the two fsyncs: for batches that call :func:`sync_filesystems` on
    everything they wrote before they report success (one flush instead of two per file)."""
    folder = os.path.dirname(path) or "."
    fd, tmp = _create_temp(folder, mode)
    try:
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(folder)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _create_temp(folder: str, mode: int) -> tuple[int, str]:
    """A new file beside the target. Names from pid, thread and a counter: no random names to
    draw (tempfile.mkstemp cost a quarter of a staple refresh's file work); O_EXCL still guards
    against leftovers of a crashed process that had the same pid."""
    while True:
        tmp = os.path.join(folder, "%s%d-%d-%d" % (TEMP_PREFIX, os.getpid(), threading.get_ident(),
                                                   next(_temp_numbers)))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed os.open's mode
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        return fd, tmp


def write_json(path: str, obj: Any, mode: int = PRIVATE_MODE, durable: bool = True) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode(), mode, durable)


def read_json(path: str, default: Any = None) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode())
    except FileNotFoundError:
        return default


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_if_changed(path: str, data: bytes, mode: int = PUBLIC_MODE, durable: bool = True) -> bool:
    """Atomically replace ``path`` only when its content differs; returns whether it wrote."""
    if read_bytes(path) == data:
        return False
    atomic_write(path, data, mode, durable)
    return True


def sync_filesystems(paths) -> None:
    """Flush the file systems holding ``paths`` (files written with ``durable=False``): one
    syncfs(2) per file system; os.sync() where syncfs is not available."""
    import ctypes

    seen: set[int] = set()
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    for path in paths:
        folder = os.path.dirname(path) or "."
        try:
            dev = os.stat(folder).st_dev
        except OSError:
            continue
        if dev in seen:
            continue
        seen.add(dev)
        fd = os.open(folder, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)
