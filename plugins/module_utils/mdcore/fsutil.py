"""File system helpers: every write is temp file + fsync + rename; private things are 0600/0700."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import threading
from typing import Any

from . import faults
from .errors import StoreError

DIR_MODE = 0o700
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
TEMP_PREFIX = ".tmp-"  # temp files of atomic_write: .tmp-<pid>-<thread>-<n>

_temp_numbers = itertools.count()  # next() on a count is atomic under the GIL


def ensure_dir(path: str, mode: int = DIR_MODE, durable: bool = False) -> str:
    """Create ``path`` (and parents) with ``mode``; tighten the mode of an existing folder.
    ``durable``: a folder created here has its name fsynced in its parent."""
    ensure_dirs([path], {path: mode}, durable)
    return path


def ensure_dirs(paths: list[str], modes: dict[str, int] | None = None, durable: bool = False) -> list[str]:
    """ensure_dir of each path (DIR_MODE unless ``modes`` says otherwise); the ones it created, whose
    names ``durable`` fsyncs (each parent once)."""
    made = [path for path in paths if _make_dir(path, (modes or {}).get(path, DIR_MODE))]
    for parent in sorted({os.path.dirname(path) or "." for path in made} if durable else ()):
        fsync_dir(parent)
    return made


def _make_dir(path: str, mode: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        st = None
    made = st is None or not stat.S_ISDIR(st.st_mode)  # one stat when it is there (the usual case)
    if made:
        os.makedirs(path, mode=mode, exist_ok=True)
        st = os.stat(path)
    if (st.st_mode & 0o777) != mode:
        os.chmod(path, mode)
    return made


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes, mode: int = PRIVATE_MODE, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix.
    ``durable=False`` skips the two fsyncs: for batches that call :func:`sync_filesystems` on
    everything they wrote before they report success (one flush instead of two per file).
    An OSError names ``path`` (os.write and fsync name no file, the others the temp file: a full
    disk was reported as "cannot write the store <root>")."""
    try:
        _atomic_write(path, data, mode, durable)
    except OSError as exc:
        if exc.errno is None or exc.filename == path:
            raise
        raise type(exc)(exc.errno, exc.strerror, path) from None


def _atomic_write(path: str, data: bytes, mode: int, durable: bool) -> None:
    folder = os.path.dirname(path) or "."
    fd, tmp = _create_temp(folder, mode)
    try:
        try:
            faults.point("temp", tmp)  # a kill here leaves an empty temp file (cleaned by Store.recover)
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        faults.point("replace", path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(folder)


def atomic_write_many(folder: str, files: list[tuple[str, bytes, int]], durable: bool = True) -> None:
    """atomic_write of several files of one folder, (name, data, mode) each, with one fsync of
    the folder instead of one per file: every temp file is written and fsynced, then each is
    renamed into place in the order given (a reader, or a run after a kill, sees each file old or
    new, and the last one new only when the others are), then the folder is fsynced once. The
    fault suite's points are the same as atomic_write's: a temp and a replace per file.
    ``durable=False``: no fsync (see :func:`flush`)."""
    temps: list[str] = []
    fds: list[int] = []
    try:
        try:
            for _name, data, mode in files:
                fd, tmp = _create_temp(folder, mode)
                fds.append(fd)
                temps.append(tmp)
                faults.point("temp", tmp)
                _write_all(fd, data)
            if durable:
                _fsync_all(fds)
        finally:
            for fd in fds:
                os.close(fd)
        while temps:
            name = files[len(files) - len(temps)][0]
            path = os.path.join(folder, name)
            faults.point("replace", path)
            os.replace(temps[0], path)
            temps.pop(0)
    except OSError as exc:
        _remove_temps(temps)
        if exc.errno is None or exc.filename is not None and exc.filename.startswith(folder):
            raise
        raise type(exc)(exc.errno, exc.strerror, folder) from None
    except BaseException:
        _remove_temps(temps)
        raise
    if durable:
        fsync_dir(folder)


def flush(files: list[str], folders: list[str]) -> None:
    """Files written with ``durable=False`` made durable: all fsynced in one pass, then the
    folders holding their names."""
    for paths in (files, folders):
        fds: list[int] = []
        try:
            for path in paths:
                fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            _fsync_all(fds)
        finally:
            for fd in fds:
                os.close(fd)


def _fsync_all(fds: list[int]) -> None:
    """fsync every file, one after the other: from threads at once (to have the journal commit
    them together) they cost 2-3x the CPU and the wall time on ext4 (bench/README.md, fsyncs)."""
    for fd in fds:
        os.fsync(fd)


def _remove_temps(temps: list[str]) -> None:
    for tmp in temps:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


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


def rename(src: str, dst: str) -> None:
    """os.rename of a store path, a write point of the fault suite."""
    faults.point("rename", dst)
    os.rename(src, dst)


def replace(src: str, dst: str) -> None:
    faults.point("replace", dst)
    os.replace(src, dst)


def symlink(target: str, path: str) -> None:
    faults.point("symlink", path)
    os.symlink(target, path)


def unlink(path: str) -> None:
    faults.point("unlink", path)
    os.unlink(path)


def remove_file(path: str) -> bool:
    """Remove a file or link; False when there was none. Any other failure is a StoreError
    naming the path (host_files' prune and the web server glue's stale files)."""
    try:
        unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError("cannot remove %s: %s" % (path, exc.strerror or exc)) from None
    return True


def rmtree(path: str) -> None:
    """Remove a folder tree if it is there."""
    if os.path.lexists(path):
        faults.point("rmtree", path)
        shutil.rmtree(path, ignore_errors=True)


def remove_dead_temp_files(folder: str, all_of_them: bool = False) -> int:
    """Remove the temp files of atomic_write in ``folder`` whose process no longer runs (killed
    mid-write); returns how many. A live process's temp file (its pid is in the name) stays,
    unless ``all_of_them`` (a folder nothing writes into any more)."""
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
        if not all_of_them and pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid))):
            continue
        try:
            unlink(os.path.join(folder, name))
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def json_bytes(obj: Any) -> bytes:
    """How the store's JSON files are written (write_json)."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: str, obj: Any, mode: int = PRIVATE_MODE, durable: bool = True) -> None:
    atomic_write(path, json_bytes(obj), mode, durable)


def read_json(path: str, default: Any = None) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode())
    except FileNotFoundError:
        return default


def read_with_identity(path: str) -> tuple[tuple, bytes] | None:
    """A file's bytes and its identity (device, inode, mtime_ns, size) from the same open file:
    open, fstat, read, close (open() of io makes two or three calls more); None when there is no
    such file. A folder raises IsADirectoryError, as open() does."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "Is a directory", path)
        chunks = [os.read(fd, st.st_size + 1)]  # all of it, and the end of the file seen
        while len(chunks[-1]) and sum(map(len, chunks)) > st.st_size:  # it grew since: read on
            chunks.append(os.read(fd, 65536))
    finally:
        os.close(fd)
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), b"".join(chunks)


def read_bytes(path: str) -> bytes | None:
    """A file's bytes, or None when there is no such file (os calls: a stapling run compares
    every staple file it writes, and open() of io costs twice as much)."""
    got = read_with_identity(path)
    return None if got is None else got[1]


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
