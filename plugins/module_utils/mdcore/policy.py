"""Renewal policy: renew/warn windows (percent of lifetime or a duration) and error backoff."""

from __future__ import annotations

import datetime
import random
import re
from dataclasses import dataclass

from .errors import ConfigError

DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 86400}

BACKOFF_START = 30.0  # mod_md: 30 s doubling up to a day, +-50 % jitter
BACKOFF_MAX = 86400.0


@dataclass(frozen=True)
class Window:
    """Either a fraction of the lifetime (``percent``) or a fixed duration before the end."""

    text: str
    percent: float | None = None
    seconds: float | None = None

    @classmethod
    def parse(cls, text: str | int | float, what: str = "window") -> Window:
        raw = str(text).strip()
        if raw.endswith("%"):
            try:
                pct = float(raw[:-1])
            except ValueError:
                raise ConfigError("%s %r is not a percentage" % (what, raw)) from None
            if not 0 < pct < 100:
                raise ConfigError("%s %r must be between 0%% and 100%%" % (what, raw))
            return cls(raw, percent=pct)
        match = DURATION_RE.match(raw)
        if not match:
            raise ConfigError("%s %r is neither a percentage ('33%%') nor a duration ('30d', '12h')" % (what, raw))
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
        if seconds <= 0:
            raise ConfigError("%s %r must be positive" % (what, raw))
        return cls(raw, seconds=seconds)

    def before_end(self, not_before: datetime.datetime, not_after: datetime.datetime) -> datetime.timedelta:
        if self.percent is not None:
            return (not_after - not_before) * (self.percent / 100.0)
        window = datetime.timedelta(seconds=self.seconds or 0)
        # A duration longer than the whole lifetime would renew every run: cap it like mod_md does.
        return min(window, (not_after - not_before) / 2) if window >= (not_after - not_before) else window

    def start(self, not_before: datetime.datetime, not_after: datetime.datetime) -> datetime.datetime:
        """The moment the window opens."""
        return not_after - self.before_end(not_before, not_after)


def backoff_seconds(errors: int, rng: random.Random | None = None) -> float:
    """Delay before retry number ``errors`` (1-based): 30 s doubling, capped at 24 h, +-50 %."""
    base = min(BACKOFF_MAX, BACKOFF_START * (2 ** max(0, errors - 1)))
    return base * (0.5 + (rng or random).random())
