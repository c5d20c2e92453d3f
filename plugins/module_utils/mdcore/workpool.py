"""A few threads working through a list: a run's orders (manager.py, orderfork.py) and a group of
fsyncs (fsutil.py). Not concurrent.futures: its import (logging, traceback and its own machinery)
cost each process of a run about 10 ms before its first order could begin, on the serial path
that a small run's wall time is made of."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_each(func: Callable[[T], R], items: Sequence[T], workers: int, name: str = "mdfleet") -> list[R]:
    """``func(item)`` for every item, at most ``workers`` at a time; the results in the items'
    order. The first exception of a call is raised once every call that had begun has ended,
    and no call begins after it (callers that must go on past one item's failure catch it in
    ``func``). The same when the caller's thread is interrupted while it waits (Ctrl-C)."""
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    results: list = [None] * len(items)
    lock = threading.Lock()
    upcoming = iter(range(len(items)))
    failures: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                index = None if failures else next(upcoming, None)
            if index is None:
                return
            try:
                results[index] = func(items[index])
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                with lock:
                    failures.append(exc)
                return

    threads = [threading.Thread(target=work, name="%s-%d" % (name, n)) for n in range(min(workers, len(items)))]
    started: list[threading.Thread] = []
    try:
        for thread in threads:
            thread.start()
            started.append(thread)
        for thread in started:
            thread.join()
    except BaseException as exc:  # the caller interrupted: what runs ends, nothing more begins
        with lock:
            failures.insert(0, exc)
        for thread in started:
            thread.join()
    if failures:
        raise failures[0]
    return results


__all__ = ["run_each"]
