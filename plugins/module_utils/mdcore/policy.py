"""Renewal policy: error backoff (windows are :mod:`window`)."""

from __future__ import annotations

import random

BACKOFF_START = 30.0  # mod_md: 30 s doubling up to a day, +-50 % jitter
BACKOFF_MAX = 86400.0


def backoff_seconds(errors: int, rng: random.Random | None = None) -> float:
    """Delay before retry number ``errors`` (1-based): 30 s doubling, capped at 24 h, +-50 %."""
    base = min(BACKOFF_MAX, BACKOFF_START * (2 ** max(0, errors - 1)))
    return base * (0.5 + (rng or random).random())
