"""dns-01 through an operator's command: argv (never a shell), exit codes, timeouts, propagation."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.dns01 import DnsCommandSolver
from mdcore.clock import FakeClock
from mdcore.errors import ChallengeError, ConfigError

HOOK = textwrap.dedent("""\
    import json, signal, sys
    log, mode = sys.argv[1], sys.argv[2]
    with open(log, "a") as handle:
        handle.write(json.dumps(sys.argv[3:]) + "\\n")
    if mode == "fail":
        print("starting", flush=True)
        sys.stderr.write("zone example.org: API token rejected\\n")
        sys.exit(3)
    if mode == "hang":
        signal.pause()  # hangs until killed by the solver's timeout
    """)


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    path = tmp_path / "hook.py"
    path.write_text(HOOK)
    return path


def _solver(hook: Path, mode: str, clock: FakeClock, **kwargs) -> DnsCommandSolver:
    return DnsCommandSolver(
        [sys.executable, str(hook), str(hook.parent / "calls.log"), mode], clock, **kwargs
    )


def _calls(hook: Path) -> list[list[str]]:
    return [json.loads(line) for line in (hook.parent / "calls.log").read_text().splitlines()]


def test_setup_and_teardown_arguments(hook: Path, clock: FakeClock) -> None:
    solver = _solver(hook, "ok", clock)
    task = ChallengeTask("example.org", "tok", "tok.thumb", "TXTvalue_-1")
    solver.setup(task)
    solver.teardown(task)
    assert _calls(hook) == [
        ["setup", "example.org", "TXTvalue_-1"],
        ["teardown", "example.org", "TXTvalue_-1"],
    ]


def test_failing_command(hook: Path, clock: FakeClock) -> None:
    with pytest.raises(
        ChallengeError,
        match="setup for example.org failed with exit code 3: zone example.org: API token rejected",
    ):
        _solver(hook, "fail", clock).setup(ChallengeTask("example.org", "t", "k", "v"))


def test_hanging_command_times_out(hook: Path, clock: FakeClock) -> None:
    with pytest.raises(ChallengeError, match="did not finish within 0.3s"):
        _solver(hook, "hang", clock, timeout=0.3).setup(ChallengeTask("example.org", "t", "k", "v"))


def test_shell_metacharacters_are_passed_verbatim(
    hook: Path, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    evil = "x.example.org; touch pwned $(touch pwned2) `touch pwned3` | cat > pwned4 & *"
    _solver(hook, "ok", clock).setup(ChallengeTask(evil, "t", "k", "v'\"$HOME"))
    assert _calls(hook) == [["setup", evil, "v'\"$HOME"]]
    assert not any(p.name.startswith("pwned") for p in tmp_path.iterdir())


def test_missing_command(clock: FakeClock, tmp_path: Path) -> None:
    with pytest.raises(ChallengeError, match="not found"):
        DnsCommandSolver([str(tmp_path / "nope")], clock).setup(ChallengeTask("a.example", "t", "k", "v"))


def test_command_not_executable(clock: FakeClock, tmp_path: Path) -> None:
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(script, stat.S_IRUSR | stat.S_IWUSR)
    if os.access(script, os.X_OK):  # pragma: no cover - root may execute anything with an x bit only
        pytest.skip("file is executable for this user")
    with pytest.raises(ChallengeError, match="hook.sh"):
        DnsCommandSolver([str(script)], clock).setup(ChallengeTask("a.example", "t", "k", "v"))


@pytest.mark.parametrize("command", [[], [""], ["ok", None]])
def test_command_must_be_an_argument_list(clock: FakeClock, command: list) -> None:
    with pytest.raises(ConfigError):
        DnsCommandSolver(command, clock)


def test_propagation_wait_uses_the_clock_once(hook: Path, clock: FakeClock) -> None:
    solver = _solver(hook, "ok", clock, propagation_seconds=30)
    solver.ready()  # nothing set up yet: no wait
    assert clock.slept == []
    for domain in ("a.example.org", "b.example.org"):
        solver.setup(ChallengeTask(domain, "t", "k", "v"))
    solver.ready()
    solver.ready()
    assert clock.slept == [30]
