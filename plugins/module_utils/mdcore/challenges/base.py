"""What every solver offers: set up a challenge response, take it down again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChallengeTask:
    """One challenge to answer: ``domain`` is the identifier without any '*.' prefix."""

    domain: str
    token: str
    key_authorization: str
    txt_value: str = ""  # dns-01 only


class Solver:
    challenge_type = ""

    def setup(self, task: ChallengeTask) -> None:
        raise NotImplementedError

    def teardown(self, task: ChallengeTask) -> None:
        raise NotImplementedError

    def ready(self) -> None:
        """Called once after all tasks of an order are set up (dns-01 waits for propagation)."""

    def close(self) -> None:
        """Release what the solver holds (listeners)."""
