"""File system helpers: every write is temp file + fsync + rename; private things are 0600/0700."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

DIR_MODE = 0o700
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(folder)


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
