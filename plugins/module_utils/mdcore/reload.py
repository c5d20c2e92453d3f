"""Web server glue on the host: reload only after the server's own config test passed."""

from __future__ import annotations

from dataclasses import dataclass

from .hostconfig import ReloadConfig
from .proc import last_line, run_command


class ReloadOutcome:
    SKIPPED = "skipped"  # nothing configured or nothing changed
    RELOADED = "reloaded"
    TEST_FAILED = "config-test-failed"
    RELOAD_FAILED = "reload-failed"


@dataclass
class ReloadResult:
    outcome: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (ReloadOutcome.SKIPPED, ReloadOutcome.RELOADED)


def _run(argv: list[str], timeout: float) -> tuple[int, str]:
    """The command's exit code and last line; on its timeout it is killed with what it started."""
    outcome = run_command(argv, None, timeout)
    if outcome.timed_out:
        return 124, "%s did not finish within %ss (killed, with its children)" % (argv[0], timeout)
    if outcome.exit_code is None:  # could not be started: not there, not executable
        if "No such file" in (outcome.error or ""):
            return 127, "%s: command not found" % argv[0]
        return 126, outcome.error or "cannot run %s" % argv[0]
    return outcome.exit_code, last_line(outcome.output)


def reload_server(cfg: ReloadConfig) -> ReloadResult:
    """Test the web server's config; reload only if the test passes (a broken config never takes
    a running server down: it keeps serving the previous certificates)."""
    if not cfg.reload_command:
        return ReloadResult(ReloadOutcome.SKIPPED, "no reload configured")
    code, text = _run(cfg.test_command, cfg.timeout)
    if code != 0:
        return ReloadResult(ReloadOutcome.TEST_FAILED, "%s exited %d: %s" % (cfg.test_command[0], code, text))
    code, text = _run(cfg.reload_command, cfg.timeout)
    if code != 0:
        return ReloadResult(ReloadOutcome.RELOAD_FAILED, "%s exited %d: %s" % (cfg.reload_command[0], code, text))
    return ReloadResult(ReloadOutcome.RELOADED)
