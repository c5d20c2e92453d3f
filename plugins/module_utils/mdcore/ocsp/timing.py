"""When to ask the responder: refresh windows, backoff with jitter after failures, due decisions."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from .. import horizon, policy
from .config import StaplingConfig
from .state import StapleState


def backoff_seconds(errors: int, config: StaplingConfig, rng: random.Random) -> float:
    """mod_md's schedule (policy.backoff_seconds) with the stapling configuration's base and cap."""
    return policy.backoff_seconds(errors, rng, config.backoff_base, config.backoff_max)


def next_retry(now: datetime.datetime, errors: int, state: StapleState, config: StaplingConfig,
               rng: random.Random) -> datetime.datetime:
    """When to try again after the ``errors``-th failure in a row. While a stored response is still
    valid the retry also comes no later than half the time it has left, so several attempts
    happen before it expires, and never later than its refresh window allows."""
    delay = backoff_seconds(errors, config, rng)
    if state.valid_at(now) and state.this_update is not None:
        left = (state.next_update - now).total_seconds()
        window = config.window.before_end(state.this_update, state.next_update).total_seconds()
        delay = min(delay, max(config.backoff_base / 2, left / 2), max(config.backoff_base / 2, window))
    return now + datetime.timedelta(seconds=delay)


class DueReason:
    NO_RESPONSE = "no stored response"
    NEW_CERT = "certificate changed"
    NEW_RESPONDER = "responder changed"
    EXPIRED = "stored response expired"
    WINDOW = "inside refresh window"
    RETRY = "retry after failure"


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str | None = None  # why it is due (a DueReason)
    waiting: bool = False  # due, but a backoff after failures holds it back until next_retry


def decide(state: StapleState | None, cert_sha256: str, responder: str, now: datetime.datetime) -> Decision:
    """Whether a certificate needs a responder exchange now."""
    if state is None or state.cert_sha256 != cert_sha256:
        return Decision(True, DueReason.NEW_CERT if state is not None and state.has_response()
                        else DueReason.NO_RESPONSE)
    if state.responder != responder:
        return Decision(True, DueReason.NEW_RESPONDER)
    horizon.note(state.next_retry)  # the moments compared with now below (quiet.py)
    horizon.note(state.next_update)
    horizon.note(state.refresh_at)
    if state.errors and state.next_retry is not None:
        if now < state.next_retry:
            return Decision(False, DueReason.RETRY, waiting=True)
        return Decision(True, DueReason.RETRY)
    if not state.has_response():
        return Decision(True, DueReason.NO_RESPONSE)
    if not state.valid_at(now):
        return Decision(True, DueReason.EXPIRED)
    if state.refresh_at is None or now >= state.refresh_at:
        return Decision(True, DueReason.WINDOW)
    return Decision(False)


__all__ = ["backoff_seconds", "next_retry", "decide", "Decision", "DueReason"]
