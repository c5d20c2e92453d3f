"""A forked helper process for a share of a run's CPU work: the engine is one process, and its
threads share one GIL, so a second core is only used by a second process.

The helper is a fork of the run (it has the run's planned work in memory, no arguments to ship).
It computes and streams picklable results back over a pipe; it never writes the store (the run
alone does, so the fault suite's write points and the store lock stay the run's). It dies with
the run (PR_SET_PDEATHSIG, and a check that the run had not already ended before that was set),
ends with os._exit (no atexit handlers, no flush of buffers the run owns), and every wait for it
has a deadline, after which it is killed.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections.abc import Callable
from typing import Any

from .clock import Clock, Deadline

_HEADER = struct.Struct("!IB")  # payload length, kind
_ITEMS, _FAILED = 0, 1
_BATCH = 32  # results per frame at most: fewer wake-ups of the run
_FLUSH_AFTER = 0.05  # seconds a result may wait in the helper for its batch to fill
_PIPE_BYTES = 1 << 20  # F_SETPIPE_SZ: the helper rarely waits for the run to read
_F_SETPIPE_SZ = 1031
_PR_SET_PDEATHSIG = 1


class HelperGone(Exception):
    """The helper ended, failed or did not answer in time; the message says which."""


class _Sink:
    """The helper's end: results batched into frames."""

    def __init__(self, fd: int, clock: Clock) -> None:
        self.fd, self.clock = fd, clock
        self.items: list = []
        self.last = clock.monotonic()

    def send(self, item: Any) -> None:
        self.items.append(item)
        if len(self.items) >= _BATCH or self.clock.monotonic() - self.last >= _FLUSH_AFTER:
            self.flush()

    def flush(self) -> None:
        if self.items:
            _write_frame(self.fd, _ITEMS, pickle.dumps(self.items, pickle.HIGHEST_PROTOCOL))
            self.items = []
        self.last = self.clock.monotonic()


def _write_frame(fd: int, kind: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload), kind) + payload)
    while view:
        view = view[os.write(fd, view):]


def _die_with(parent: int) -> None:
    """SIGKILL for this process when the run's thread ends; and an end now if the run ended
    between the fork and this call (then this process is already someone else's child)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the deadlines of the run still end the helper
    if os.getppid() != parent:
        os._exit(1)


class Helper:
    """The run's end of one helper process."""

    def __init__(self, pid: int, fd: int, clock: Clock) -> None:
        self.pid, self.fd, self.clock = pid, fd, clock
        self.buffer = b""
        self.ended = False  # the helper closed its end (exited)
        self.status: int | None = None

    @classmethod
    def start(cls, work: Callable[[Callable[[Any], None]], None], clock: Clock) -> Helper | None:
        """Fork a helper that runs ``work(send)``; each ``send(item)`` reaches :meth:`take`.
        None where there is no fork (or it failed): the caller does the work itself."""
        if not hasattr(os, "fork"):
            return None
        parent = os.getpid()
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:  # the helper
            code = 1
            try:
                os.close(read_end)
                _die_with(parent)
                sink = _Sink(write_end, clock)
                work(sink.send)
                sink.flush()
                code = 0
            except BaseException as exc:  # everything ends here: the run reports it
                try:
                    _write_frame(write_end, _FAILED, ("%s: %s" % (type(exc).__name__, exc)).encode())
                except BaseException:
                    pass
            finally:
                os._exit(code)
        os.close(write_end)
        try:
            import fcntl

            fcntl.fcntl(read_end, _F_SETPIPE_SZ, _PIPE_BYTES)
        except (OSError, ImportError):
            pass  # the default pipe size: the helper waits for the run's reads more often
        os.set_blocking(read_end, False)
        return cls(pid, read_end, clock)

    def take(self, wait: Deadline | None = None) -> list:
        """The results that arrived. Without ``wait``: whatever is there (maybe nothing). With it:
        at least one result, or the end; HelperGone when the deadline passes first, when the
        helper reported a failure, or (``wait`` given) when it ended."""
        items: list = []
        while True:
            items.extend(self._frames())
            if items or wait is None:
                return items
            if self.ended:
                raise HelperGone("the helper process ended (%s) before it answered everything" % self._exit())
            if wait.expired():
                raise HelperGone("the helper process gave no answer within %gs" % wait.seconds)
            select.select([self.fd], [], [], wait.bounded(0.5))

    def _frames(self) -> list:
        while not self.ended:
            try:
                chunk = os.read(self.fd, _PIPE_BYTES)
            except BlockingIOError:
                break
            if not chunk:
                self.ended = True
                break
            self.buffer += chunk
        items: list = []
        while len(self.buffer) >= _HEADER.size:
            size, kind = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + size:
                break
            payload = self.buffer[_HEADER.size:_HEADER.size + size]
            self.buffer = self.buffer[_HEADER.size + size:]
            if kind == _FAILED:
                raise HelperGone("the helper process failed: %s" % payload.decode(errors="replace"))
            items.extend(pickle.loads(payload))
        return items

    def _exit(self) -> str:
        self._reap(block=True)
        if self.status is None:
            return "exit status unknown"
        if os.WIFSIGNALED(self.status):
            return "killed by signal %d" % os.WTERMSIG(self.status)
        return "exit status %d" % os.WEXITSTATUS(self.status)

    def _reap(self, block: bool) -> None:
        if self.status is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            self.status = status

    def close(self) -> None:
        """Kill the helper unless it exited, reap it, close the pipe."""
        self._reap(block=False)
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(block=True)  # SIGKILL ends it at once: this wait is short
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


__all__ = ["Helper", "HelperGone"]
