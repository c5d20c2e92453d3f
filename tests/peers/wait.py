"""Polling with a deadline: the harness never sleeps a fixed time and never waits forever."""

from __future__ import annotations

import os
import select
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


def wait_gone(pid: int, timeout: float, what: str) -> None:
    """Wait until process ``pid`` has ended (a zombie counts as gone, as in pid_alive): a pidfd
    becomes readable when it exits, so this wakes at once instead of polling. TimeoutError after
    ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # gone (and reaped) already
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError(f"{what}: still running after {timeout:.1f}s")
    finally:
        os.close(fd)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
