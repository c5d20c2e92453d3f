"""What every solver offers: set up a challenge response, take it down again."""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import Deadline


@dataclass(frozen=True)
class ChallengeTask:
    """One challenge to answer: ``domain`` is the identifier without any '*.' prefix."""

    domain: str
    token: str
    key_authorization: str
    txt_value: str = ""  # dns-01 only
    wildcard: bool = False  # the authorization is for "*.<domain>"
    account_url: str = ""  # the ordering account (dns-persist-01 binds the record to it)
    issuer_domain_names: object = None  # dns-persist-01: as the challenge object lists them (unchecked)
    challenge_account_uri: object = None  # dns-persist-01: the accounturi the challenge names, if any


class Solver:
    challenge_type = ""

    def setup(self, task: ChallengeTask) -> None:
        raise NotImplementedError

    def teardown(self, task: ChallengeTask) -> None:
        raise NotImplementedError

    def ready(self, deadline: Deadline | None = None) -> None:
        """Called once after all tasks of an order are set up (dns-01 places its records and waits
        for propagation), within the order's ``deadline``."""

    def close(self) -> None:
        """Release what the solver holds (listeners)."""

    def watch(self, task: ChallengeTask):
        """What sees the CA fetch the answer of ``task`` (an object whose ``wait(seconds)`` waits,
        in real time, up to that long for a fetch it has not reported yet, and says whether one
        came), or None when this solver cannot see that (the web server or DNS answers)."""
        return None

    def failure_hint(self, task: ChallengeTask) -> str:
        """What to tell the operator when the CA refused the validation of ``task``."""
        return ""
