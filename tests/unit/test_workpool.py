"""workpool.run_each: the threads of a run's orders and of a group of fsyncs. Every wait here is
a condition with a deadline, never a sleep."""

from __future__ import annotations

import signal
import threading

import pytest

from mdcore.workpool import run_each

WAIT = 30.0  # a deadline only: every wait below ends at once in a passing run


def test_results_come_in_the_items_order_and_workers_run_at_once():
    workers = 3
    meet = threading.Barrier(workers, timeout=WAIT)  # breaks unless three calls run at the same time
    lock = threading.Lock()
    active, most = 0, 0

    def square(item: int) -> int:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        meet.wait()
        with lock:
            active -= 1
        return item * item

    assert run_each(square, list(range(9)), workers) == [i * i for i in range(9)]
    assert most == workers  # as many as asked, never more


def test_one_worker_or_one_item_runs_in_the_callers_thread():
    caller = threading.current_thread()
    seen: list[threading.Thread] = []
    assert run_each(lambda i: seen.append(threading.current_thread()) or i, [1, 2], 1) == [1, 2]
    assert run_each(lambda i: seen.append(threading.current_thread()) or i, [3], 8) == [3]
    assert seen == [caller] * 3
    assert run_each(lambda i: i, [], 8) == []


def test_a_failure_is_raised_after_the_running_calls_ended_and_nothing_more_begins():
    failed_thread: list[threading.Thread] = []
    known, second = threading.Event(), threading.Event()
    begun: list[int] = []
    ended: list[int] = []

    def call(item: int) -> int:
        begun.append(item)
        if item == 0:
            failed_thread.append(threading.current_thread())
            known.set()
            assert second.wait(WAIT)  # item 1 runs while item 0 fails
            raise ValueError("item 0 is bad")
        second.set()
        assert known.wait(WAIT)
        failed_thread[0].join(WAIT)  # its failure is on record once its thread has ended
        ended.append(item)
        return item

    with pytest.raises(ValueError, match="item 0 is bad"):
        run_each(call, list(range(20)), 2, "mdfleet-test")
    assert sorted(begun) == [0, 1] and ended == [1]  # the running call finished; no other began
    assert not [t for t in threading.enumerate() if t.name.startswith("mdfleet-test")]


def test_an_interrupted_caller_waits_for_the_running_calls_then_raises():
    main = threading.main_thread()
    assert threading.current_thread() is main  # a signal reaches the main thread only
    ended: list[int] = []

    def call(item: int) -> int:
        if item == 0:
            signal.pthread_kill(main.ident, signal.SIGINT)  # Ctrl-C while the caller waits
        ended.append(item)
        return item

    with pytest.raises(KeyboardInterrupt):
        run_each(call, list(range(4)), 2, "mdfleet-test")
    assert 0 in ended
    assert not [t for t in threading.enumerate() if t.name.startswith("mdfleet-test")]
