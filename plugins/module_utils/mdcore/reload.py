"""Web server glue on the host: reload only after the server's own config test passed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .hostconfig import ReloadConfig


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
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, "%s: command not found" % argv[0]
    except subprocess.TimeoutExpired:
        return 124, "%s did not finish within %ss" % (argv[0], timeout)
    text = (proc.stderr or proc.stdout or b"").decode(errors="replace").strip()
    return proc.returncode, text.splitlines()[-1][:300] if text else ""


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
