"""The real runner: argument lists never meet a shell, failures and hangs are reported, a hung
command is killed with everything it started, the parent's MDFLEET_* variables are not passed on."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from mdcore.events import EventName
from mdcore.notify import CommandNotifier, NotifyState
from mdcore.proc import run_command
from peers.wait import wait_gone

RECORDER = r"""
import json, os, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"argv": sys.argv[2:], "env": {k: v for k, v in os.environ.items()
                                                        if k.startswith("MDFLEET_")}}) + "\n")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""

HANGER = r"""
import signal, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
open(sys.argv[1], "w").write(str(child.pid))
signal.pause()  # hangs until killed: what the runner's timeout must deal with
"""


@pytest.fixture
def recorder(tmp_path):
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "calls.jsonl"
    return [sys.executable, str(script), str(log)], log


def test_shell_metacharacters_stay_plain_arguments(store, clock, recorder, tmp_path, monkeypatch):
    command, log = recorder
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MDFLEET_EVENT", "from-the-parent")
    notifier = CommandNotifier(store, command, clock, timeout=30)
    evil_domain = "x.example;touch pwned-1 && $(touch pwned-2) `touch pwned-3` | tee pwned-4"
    notifier.fire("challenge-setup:http-01:" + evil_domain, "x.example")
    notifier.fire(EventName.ERRORED, "x.example", {"error": "$(touch pwned-5); rm -rf / \n'\"*"})
    first, second = [json.loads(line) for line in log.read_text().splitlines()]
    assert first["argv"] == ["challenge-setup:http-01:" + evil_domain, "x.example"]
    assert first["env"]["MDFLEET_CHALLENGE_DOMAIN"] == evil_domain
    assert first["env"]["MDFLEET_EVENT"] == "challenge-setup:http-01:" + evil_domain
    assert second["env"]["MDFLEET_ERROR"] == "$(touch pwned-5); rm -rf / \n'\"*"
    assert not list(tmp_path.glob("pwned*"))
    assert all(d.ok for d in notifier.deliveries)


def test_non_zero_exit_is_a_failure(recorder, store, clock, monkeypatch):
    command, _log = recorder
    monkeypatch.setenv("EXIT_WITH", "3")
    outcome = run_command(command + ["errored", "a.example"], dict(os.environ), 30)
    assert (outcome.exit_code, outcome.timed_out, outcome.error) == (3, False, "exit status 3")


def test_missing_command(tmp_path):
    outcome = run_command([str(tmp_path / "no-such-command"), "renewed", "a.example"], {}, 5)
    assert outcome.exit_code is None and not outcome.timed_out
    assert outcome.error.startswith("cannot run") and "No such file" in outcome.error


def test_hanging_command_is_killed_with_its_children(tmp_path, store, clock):
    script = tmp_path / "hang.py"
    script.write_text(HANGER)
    pidfile = tmp_path / "child.pid"
    notifier = CommandNotifier(store, [sys.executable, str(script), str(pidfile)], clock, timeout=1.0)
    started = time.monotonic()
    assert notifier.fire(EventName.RENEWING, "a.example") is True  # a hung hook does not block renewals
    assert time.monotonic() - started < 10
    (delivery,) = notifier.deliveries
    assert delivery.timed_out and delivery.error == "timed out after 1s (killed)"
    child = int(pidfile.read_text())
    wait_gone(child, 5, "the command's child to be gone after the timeout")
    state = NotifyState.load(store, "a.example")
    assert state.failures == 1 and state.last_failure.timed_out
