"""Files the glue owns in the web server's folders: replaced atomically (fsutil.atomic_write), and
only when content or mode differ, so an unchanged store changes nothing (the role's idempotence,
no needless reload)."""

from __future__ import annotations

import os

from ..errors import StoreError
from ..fsutil import atomic_write, read_bytes, remove_file


def replace_if_changed(path: str, data: bytes, mode: int, changed: list[str]) -> None:
    """Write ``data`` with ``mode`` to ``path`` unless it already holds exactly that; a written
    path is appended to ``changed``."""
    try:
        if read_bytes(path) == data and (os.stat(path).st_mode & 0o777) == mode:
            return
        atomic_write(path, data, mode)
    except OSError as exc:
        raise StoreError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    changed.append(path)


def remove(path: str, changed: list[str]) -> None:
    """Remove ``path`` if it is there; a removed path is appended to ``changed``."""
    if remove_file(path):
        changed.append(path)


__all__ = ["replace_if_changed", "remove"]
