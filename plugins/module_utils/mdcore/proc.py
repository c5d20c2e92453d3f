"""Running an operator's command (message command, dns-01 hook, the web server's config test and
reload): an argument list, never a shell, stdin /dev/null, in a session of its own, so that on its
timeout the command and everything it started are killed together (killpg)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

OUTPUT_KEEP = 2000  # bytes of the command's output kept in memory for the caller's log


@dataclass
class RunOutcome:
    exit_code: int | None  # None: not started, or killed after the timeout
    timed_out: bool = False
    error: str | None = None  # None when the command exited 0
    output: str = ""


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and whatever it started
    except OSError:
        proc.kill()


def run_command(argv: list[str], env: dict[str, str] | None, timeout: float) -> RunOutcome:
    """Run ``argv`` (no shell) in its own session; stdin is /dev/null; stdout+stderr captured.
    ``env`` None: this process's environment."""
    import subprocess  # when a command runs: a run with nothing to reload or tell runs none

    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, close_fds=True, start_new_session=True)
    except (OSError, ValueError) as exc:
        return RunOutcome(None, error="cannot run %s: %s" % (argv[0], getattr(exc, "strerror", None) or exc))
    try:
        out = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out = proc.communicate(timeout=5)[0]
        except subprocess.TimeoutExpired:  # a grandchild in another session holds the pipe
            out = b""
            for pipe in (proc.stdout,):
                if pipe is not None:
                    pipe.close()
            proc.wait()
        return RunOutcome(None, True, "timed out after %gs (killed)" % timeout, _tail(out))
    code = proc.returncode
    if code == 0:
        return RunOutcome(0, output=_tail(out))
    error = "killed by signal %d" % -code if code < 0 else "exit status %d" % code
    return RunOutcome(code, error=error, output=_tail(out))


def _tail(data: bytes | None) -> str:
    return (data or b"")[-OUTPUT_KEEP:].decode("utf-8", "replace")


def last_line(text: str, limit: int = 300) -> str:
    """The command's last line of output: what a one-line error shows of it."""
    lines = text.strip().splitlines()
    return lines[-1][:limit] if lines else ""


__all__ = ["RunOutcome", "run_command", "last_line", "OUTPUT_KEEP"]
