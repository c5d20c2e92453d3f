"""The engine's write points, for fault tests (tests/integration/cli): every change the engine makes to
the store (a temp file created, a file replaced, a folder renamed, a link swapped, a file removed)
first calls :func:`point`. With ``MDFLEET_FAULT_KILL_AT=N`` in the environment the N-th point of
the process kills it (SIGKILL, as a power cut or the OOM killer would); ``MDFLEET_FAULT_TRACE=FILE``
appends one line per point (its number and what it is about to change). Without them a point costs
one test of a module constant."""

from __future__ import annotations

import itertools
import os
import signal
import threading

KILL_AT = int(os.environ.get("MDFLEET_FAULT_KILL_AT") or 0)
TRACE = os.environ.get("MDFLEET_FAULT_TRACE") or ""
ACTIVE = bool(KILL_AT or TRACE)

_numbers = itertools.count(1)
_lock = threading.Lock()


def point(what: str, path: str) -> None:
    """About to ``what`` (temp, replace, rename, symlink, unlink, rmtree) ``path``."""
    if not ACTIVE:
        return
    with _lock:  # one numbering for all threads of the run
        number = next(_numbers)
        if TRACE:
            with open(TRACE, "a") as handle:
                handle.write("%d %s %s\n" % (number, what, path))
        if number == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)


FORKED_BASE = 1_000_000  # the first write point of a forked order process (mdcore/orderfork.py)


def forked() -> None:
    """In a forked order process: its points are numbered from FORKED_BASE + 1, so a
    MDFLEET_FAULT_KILL_AT of that range kills it (and not the run) at its N-th write."""
    global _numbers
    _numbers = itertools.count(FORKED_BASE + 1)


__all__ = ["point", "ACTIVE", "FORKED_BASE", "forked"]
