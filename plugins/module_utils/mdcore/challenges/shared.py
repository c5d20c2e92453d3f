"""Listeners of the standalone solvers, shared per address:port by the orders running at once in
one process (refcounted): parallel orders do not fight over port 80 or 443."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from .base import ChallengeTask, Solver

Listener = TypeVar("Listener")


class SharedListeners(Generic[Listener]):
    """Opens a listener for the first user of an address:port, closes it after the last."""

    def __init__(self, open_listener: Callable[[str, int], Listener],
                 close_listener: Callable[[Listener], None]) -> None:
        self._open_listener = open_listener
        self._close_listener = close_listener
        self._lock = threading.Lock()
        self._listeners: dict[tuple[str, int], list] = {}  # (address, port) -> [listener, users]

    def acquire(self, address: str, port: int) -> Listener:
        with self._lock:
            entry = self._listeners.get((address, port))
            if entry is None:
                entry = self._listeners[(address, port)] = [self._open_listener(address, port), 0]
            entry[1] += 1
            return entry[0]

    def release(self, address: str, port: int) -> None:
        with self._lock:
            entry = self._listeners.get((address, port))
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._listeners[(address, port)]
                self._close_listener(entry[0])


class SharedListenerSolver(Solver):
    """A solver that answers through a shared listener of its own kind (``listeners``), which it
    holds from its first setup until close(). The listener class offers add(task) / remove(task)."""

    listeners: SharedListeners
    default_port = 0

    def __init__(self, address: str = "0.0.0.0", port: int | None = None) -> None:
        self.address = address
        self.port = port or self.default_port
        self._listener = None

    def setup(self, task: ChallengeTask) -> None:
        if self._listener is None:
            self._listener = self.listeners.acquire(self.address, self.port)
        self._listener.add(task)

    def teardown(self, task: ChallengeTask) -> None:
        if self._listener is not None:
            self._listener.remove(task)

    def close(self) -> None:
        if self._listener is not None:
            self._listener = None
            self.listeners.release(self.address, self.port)


__all__ = ["SharedListeners", "SharedListenerSolver"]
