"""The harness's waits (tests/peers/wait.py): a wait for a folder's change or a process's end
wakes on that event, not after an interval, and never goes past its deadline."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from peers.wait import Wakers, poll


def test_a_wait_on_a_folder_wakes_when_a_file_appears(tmp_path):
    looked = threading.Event()
    target = tmp_path / "ready"

    def check():
        looked.set()
        return target.exists()

    def write():
        looked.wait(10)
        target.write_text("up")

    writer = threading.Thread(target=write)
    writer.start()
    try:  # no interval: only the change can end the wait before its deadline
        assert poll(check, 30, "the file", interval=None, watch=[tmp_path]) is True
    finally:
        writer.join(10)


def test_a_wait_on_a_process_wakes_when_it_ends():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    looked = threading.Event()

    def check():
        looked.set()
        return proc.poll() is not None

    closer = threading.Thread(target=lambda: looked.wait(10) and proc.stdin.close())
    closer.start()
    try:
        assert poll(check, 30, "the child", interval=None, pid=proc.pid) is True
        assert proc.returncode == 0
    finally:
        closer.join(10)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_deadline_ends_a_wait_that_nothing_announces(tmp_path):
    calls = []
    with pytest.raises(TimeoutError, match="never: not ready after 0.0s"):
        poll(lambda: calls.append(1), 0, "never", interval=3600, watch=[tmp_path])
    assert calls == [1]  # looked once, then no wait past the deadline


def test_a_process_gone_already_and_a_missing_folder(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    wakers = Wakers(pid=proc.pid)  # reaped: no pidfd, the condition tells
    assert not wakers.any
    wakers.close()
    with pytest.raises(FileNotFoundError, match="inotify_add_watch"):
        Wakers(watch=[tmp_path / "nope"])
