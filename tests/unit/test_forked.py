"""The forked helper process (mdcore/forked.py): results streamed back in order, a failure or an
early end reported, a silent helper given up at its deadline and killed, and a helper that dies
with the process that forked it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mdcore.clock import Clock, Deadline
from mdcore.forked import Helper, HelperGone
from peers.wait import pid_alive, wait_gone

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")


class TickingClock(Clock):
    """Monotonic time moves a second per look: a deadline passes after a few looks, without
    waiting for it."""

    def __init__(self) -> None:
        self.mono = 0.0

    def monotonic(self) -> float:
        self.mono += 1.0
        return self.mono


def take_all(helper: Helper, count: int) -> list:
    items: list = []
    while len(items) < count:
        items.extend(helper.take(Deadline(Clock(), 30)))
    return items


def test_results_arrive_in_order_across_frames():
    def work(send):
        for i in range(200):  # several frames of _BATCH
            send((i, b"x" * i))

    helper = Helper.start(work, Clock())
    try:
        assert take_all(helper, 200) == [(i, b"x" * i) for i in range(200)]
    finally:
        helper.close()


def test_take_without_a_wait_never_blocks():
    def work(send):
        signal.pause()  # silent until close() kills it

    helper = Helper.start(work, Clock())
    try:
        assert helper.take() == []
    finally:
        helper.close()
    assert os.WIFSIGNALED(helper.status) and os.WTERMSIG(helper.status) == signal.SIGKILL


def test_a_failure_of_the_helper_is_reported_with_its_text():
    def work(send):
        send("first")
        raise ValueError("no such responder")

    helper = Helper.start(work, Clock())
    try:
        with pytest.raises(HelperGone, match="failed: ValueError: no such responder"):
            take_all(helper, 2)
    finally:
        helper.close()


def test_an_early_end_is_reported():
    def work(send):
        os._exit(3)  # as if killed half-way

    helper = Helper.start(work, Clock())
    try:
        with pytest.raises(HelperGone, match=r"ended \(exit status 3\) before it answered everything"):
            take_all(helper, 1)
    finally:
        helper.close()


def test_a_silent_helper_is_given_up_at_the_deadline_and_killed():
    clock = TickingClock()

    def work(send):
        signal.pause()  # silent until killed

    helper = Helper.start(work, clock)
    pid = helper.pid
    try:
        with pytest.raises(HelperGone, match="gave no answer within 3s"):
            helper.take(Deadline(clock, 3))
    finally:
        helper.close()
    assert not pid_alive(pid)


def test_the_helper_dies_with_the_process_that_forked_it(tmp_path):
    script = (
        "import signal, sys\n"
        "sys.path.insert(0, %r)\n"
        "from mdcore.clock import Clock\n"
        "from mdcore.forked import Helper\n"
        "helper = Helper.start(lambda send: signal.pause(), Clock())\n"
        "print(helper.pid, flush=True)\n"
        "signal.pause()\n" % os.path.abspath(MODULE_UTILS))
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(run.stdout.readline())
        assert pid_alive(pid)
    finally:
        run.kill()  # SIGKILL: no handler of the run can end the helper, only the kernel
        run.wait(timeout=30)
    wait_gone(pid, 30, "the helper %d to end with its parent" % pid)
