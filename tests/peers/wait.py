"""Polling with a deadline: the harness never sleeps a fixed time and never waits forever."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `check` until it returns a truthy value or `timeout` seconds have passed.

    `check` may raise to abort early (e.g. the process died); a falsy result means "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.1f}s")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: a zombie (exited, not yet reaped) counts as gone, a
    process of another user as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
