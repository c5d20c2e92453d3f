"""dns-01 through an operator's command: `<argv...> setup <domain> <txt>` / `teardown ...`.

The command runs as an argument list, never through a shell, with a timeout.
"""

from __future__ import annotations

from ..clock import Clock, Deadline
from ..errors import ChallengeError, ConfigError
from ..proc import last_line, run_command
from .base import ChallengeTask, Solver


class DnsCommandSolver(Solver):
    challenge_type = "dns-01"

    def __init__(self, command: list[str], clock: Clock, propagation_seconds: float = 0.0,
                 timeout: float = 60.0) -> None:
        if not command or not all(isinstance(a, str) and a for a in command):
            raise ConfigError("dns-01 needs a command as a non-empty list of arguments")
        self.command = list(command)
        self.clock = clock
        self.propagation_seconds = propagation_seconds
        self.timeout = timeout
        self._pending_wait = False

    def _run(self, action: str, task: ChallengeTask) -> None:
        argv = self.command + [action, task.domain, task.txt_value]
        outcome = run_command(argv, None, self.timeout)  # on its timeout: killed with what it started
        if outcome.timed_out:
            raise ChallengeError("dns-01 command %s %s for %s did not finish within %ss (killed, with its children)"
                                 % (self.command[0], action, task.domain, self.timeout))
        if outcome.exit_code is None:
            if "No such file" in (outcome.error or ""):
                raise ChallengeError("dns-01 command not found: %s" % self.command[0])
            raise ChallengeError("dns-01 command: %s" % outcome.error)  # not executable, a folder, ...
        if outcome.exit_code != 0:
            err = last_line(outcome.output)
            raise ChallengeError("dns-01 command %s %s for %s failed with exit code %d%s"
                                 % (self.command[0], action, task.domain, outcome.exit_code,
                                    (": " + err) if err else ""))

    def setup(self, task: ChallengeTask) -> None:
        self._run("setup", task)
        self._pending_wait = True

    def ready(self, deadline: Deadline | None = None) -> None:
        if self._pending_wait and self.propagation_seconds > 0:
            self.clock.sleep(deadline.bounded(self.propagation_seconds) if deadline else self.propagation_seconds)
        self._pending_wait = False

    def teardown(self, task: ChallengeTask) -> None:
        self._run("teardown", task)
