"""Error backoff, mod_md's schedule for renewals and staples alike (windows are :mod:`window`)."""

from __future__ import annotations

import random

BACKOFF_START = 30.0  # mod_md: 30 s doubling up to a day, +-50 % jitter
BACKOFF_MAX = 86400.0


def backoff_seconds(errors: int, rng: random.Random | None = None, start: float = BACKOFF_START,
                    cap: float = BACKOFF_MAX) -> float:
    """Delay before retry number ``errors`` (1-based): ``start`` doubling per failure in a row,
    capped at ``cap``, +-50 % jitter so a fleet does not retry in lockstep."""
    exponent = max(0, errors - 1)
    base = min(cap, start * (2 ** exponent)) if exponent < 64 else cap  # no huge powers for absurd counts
    return base * (0.5 + (rng or random).random())
