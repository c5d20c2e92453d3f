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


def atomic_write(path: str, data: bytes, mode: int = PRIVATE_MODE) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)


def write_json(path: str, obj: Any, mode: int = PRIVATE_MODE) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode(), mode)


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


def write_if_changed(path: str, data: bytes, mode: int = PUBLIC_MODE) -> bool:
    """Atomically replace ``path`` only when its content differs; returns whether it wrote."""
    if read_bytes(path) == data:
        return False
    atomic_write(path, data, mode)
    return True
