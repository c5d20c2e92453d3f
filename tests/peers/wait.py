"""Waiting with a deadline: the harness never sleeps a fixed time and never waits forever.
Between two looks at a condition it waits for what can change it: a process ending (its pidfd)
or a folder's content changing (inotify); a condition that no event announces (a port, another
server's HTTP answer) is looked at again after ``interval``, never past the deadline."""

from __future__ import annotations

import ctypes
import os
import select
import socket
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

# inotify(7): what changes a folder's files (written, closed, created, renamed, removed, chmod)
_IN_CHANGES = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200
_LIBC = ctypes.CDLL(None, use_errno=True)


class Wakers:
    """File descriptors that become readable when a process ends or a folder changes."""

    def __init__(self, pid: int | None = None, watch: Iterable[str | os.PathLike] = ()) -> None:
        self.pidfd: int | None = None
        self.notify: int | None = None
        if pid is not None:
            try:
                self.pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                pass  # gone already: the condition says so
        folders = [os.fsencode(folder) for folder in watch]
        if folders:
            fd = _LIBC.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "inotify_init1")
            self.notify = fd
            for folder in folders:
                if _LIBC.inotify_add_watch(fd, folder, _IN_CHANGES) < 0:
                    err = ctypes.get_errno()
                    self.close()
                    raise OSError(err, "inotify_add_watch", os.fsdecode(folder))

    @property
    def any(self) -> bool:
        return self.pidfd is not None or self.notify is not None

    def wait(self, seconds: float) -> None:
        """Until one of them fires or ``seconds`` have passed."""
        fds = [fd for fd in (self.pidfd, self.notify) if fd is not None]
        ready = select.select(fds, [], [], seconds)[0]  # none: the interval of a condition no event tells
        if self.pidfd is not None and self.pidfd in ready:  # it stays readable: once is enough
            os.close(self.pidfd)
            self.pidfd = None
        if self.notify is not None and self.notify in ready:
            try:
                while os.read(self.notify, 65536):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        for fd in (self.pidfd, self.notify):
            if fd is not None:
                os.close(fd)
        self.pidfd = self.notify = None


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float | None = 0.05,
         pid: int | None = None, watch: Iterable[str | os.PathLike] = ()) -> T:
    """Call `check` until it returns a truthy value or `timeout` seconds have passed.

    `check` may raise to abort early (e.g. the process died); a falsy result means "not yet".
    Between two calls: until process `pid` ends or a folder of `watch` changes, or `interval`
    seconds (None: only those events; without any, 0.05 s).
    """
    deadline = time.monotonic() + timeout
    wakers = Wakers(pid, watch)  # before the first look: no change between it and the wait is missed
    if interval is None and not wakers.any:
        interval = 0.05
    try:
        while True:
            result = check()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{what}: not ready after {timeout:.1f}s")
            wakers.wait(left if interval is None else min(interval, left))
    finally:
        wakers.close()


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
