"""The web server's config test / reload and the dns-01 hook are killed with everything they started
when they time out (a process group of their own), and a command that cannot run is one line."""

from __future__ import annotations

import sys

import pytest

from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.dns01 import DnsCommandSolver
from mdcore.clock import FakeClock
from mdcore.errors import ChallengeError
from mdcore.hostconfig import ReloadConfig
from mdcore.reload import ReloadOutcome, reload_server
from peers.wait import wait_gone

# starts a grandchild that waits until it is killed, writes its pid, then waits the same way itself
HANGS = ("import signal, subprocess, sys; child = subprocess.Popen([sys.executable, '-c', "
         "'import signal; signal.pause()']); open(sys.argv[1], 'w').write(str(child.pid)); signal.pause()")


def _gone(pid_file) -> bool:
    """The grandchild is gone within 5 s (reaped by init, not by us: a zombie counts as gone)."""
    pid = int(pid_file.read_text())
    try:
        wait_gone(pid, 5, "the command's child %d to be gone" % pid)
    except TimeoutError:
        return False
    return True


def test_a_hanging_config_test_is_killed_with_its_children(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    cfg = ReloadConfig(test_command=[sys.executable, "-c", HANGS, str(pid_file)],
                       reload_command=[sys.executable, "-c", "pass"], timeout=1.0)
    result = reload_server(cfg)
    assert result.outcome == ReloadOutcome.TEST_FAILED
    assert "did not finish within 1.0s (killed, with its children)" in result.detail
    assert _gone(pid_file)


def test_an_unrunnable_reload_is_one_line(tmp_path) -> None:
    script = tmp_path / "reload"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)  # not executable
    cfg = ReloadConfig(test_command=[sys.executable, "-c", "pass"], reload_command=[str(script)], timeout=5.0)
    result = reload_server(cfg)
    assert result.outcome == ReloadOutcome.RELOAD_FAILED and "Permission denied" in result.detail
    missing = reload_server(ReloadConfig(test_command=[str(tmp_path / "nginx")], reload_command=["x"], timeout=5.0))
    assert missing.detail.endswith("exited 127: %s: command not found" % (tmp_path / "nginx"))


def test_a_hanging_dns_hook_is_killed_with_its_children(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    solver = DnsCommandSolver([sys.executable, "-c", HANGS, str(pid_file)], FakeClock(), timeout=1.0)
    task = ChallengeTask("example.org", "tok", "tok.thumb", "txt-value")
    with pytest.raises(ChallengeError, match="did not finish within 1.0s"):
        solver.setup(task)
    assert _gone(pid_file)
