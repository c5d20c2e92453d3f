"""The identity of the engine's files: a memo made by other code is not used (status/memo.py,
quiet.py)."""

from __future__ import annotations

import os

_CODE: tuple | None = None


def code_stamp() -> tuple:
    """The identity (size, mtime) of every file of the engine (a changed engine rebuilds the
    memo): all of them, not those a run happened to import (a run that orders or fetches imports
    more, and must not make the next idle run's memo one of nothing). An engine inside a zip
    archive is stamped by the archive."""
    global _CODE
    if _CODE is None:
        top = os.path.dirname(os.path.abspath(__file__))
        stamps = []
        if os.path.isdir(top):
            for folder, subdirs, names in os.walk(top):
                subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
                for name in sorted(names):
                    if name.endswith(".py"):
                        st = os.stat(os.path.join(folder, name))
                        stamps.append((os.path.relpath(os.path.join(folder, name), top), st.st_size, st.st_mtime_ns))
        else:
            path = top
            while path and not os.path.isfile(path):
                parent = os.path.dirname(path)
                path = parent if parent != path else ""
            if path:
                st = os.stat(path)
                stamps.append((path, st.st_size, st.st_mtime_ns))
        _CODE = tuple(stamps)
    return _CODE


__all__ = ["code_stamp"]
