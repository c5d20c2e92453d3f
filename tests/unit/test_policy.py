"""Renewal windows (percent or duration) for 6/45/90-day lifetimes, and error backoff."""

from __future__ import annotations

import datetime
import random

import pytest

from mdcore.errors import ConfigError
from mdcore.policy import BACKOFF_MAX, BACKOFF_START, backoff_seconds
from mdcore.window import Window

NB = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize("days", [6, 45, 90])
def test_percent_window_scales_with_lifetime(days: int) -> None:
    na = NB + days * DAY
    start = Window.parse("33%").start(NB, na)
    assert na - start == days * DAY * 0.33
    assert Window.parse("10%").start(NB, na) > start  # the warn window opens later


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("1w", 604800),
        ("90m", 5400),
        ("45", 45 * 86400),
        (" 2.5d ", 2.5 * 86400),
        (3600, 3600 * 86400),
    ],
)
def test_duration_windows(text, seconds: float) -> None:
    window = Window.parse(text)
    assert window.seconds == seconds and window.percent is None


def test_duration_window_on_90_days() -> None:
    assert Window.parse("30d").start(NB, NB + 90 * DAY) == NB + 60 * DAY


def test_duration_longer_than_a_short_lifetime_is_capped() -> None:
    """30 days before the end of a 6-day certificate would renew on every run: half the lifetime instead."""
    assert Window.parse("30d").start(NB, NB + 6 * DAY) == NB + 3 * DAY
    assert Window.parse("2d").start(NB, NB + 6 * DAY) == NB + 4 * DAY


@pytest.mark.parametrize("text", ["0%", "100%", "150%", "x%", "abc", "-5d", "0d", "5y", "", "%"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ConfigError, match="renew window"):
        Window.parse(text, "renew window")


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_doubles_from_30s_to_a_day() -> None:
    middle = FixedRandom(0.5)  # no jitter
    delays = [backoff_seconds(n, middle) for n in range(1, 16)]
    assert delays[:4] == [30, 60, 120, 240]
    assert delays[-1] == BACKOFF_MAX == 86400
    assert all(b == min(BACKOFF_MAX, 2 * a) for a, b in zip(delays, delays[1:], strict=False))
    assert backoff_seconds(0, middle) == BACKOFF_START


@pytest.mark.parametrize("errors", [1, 2, 5, 12, 13, 40])
def test_backoff_jitter_bounds(errors: int) -> None:
    base = min(BACKOFF_MAX, BACKOFF_START * 2 ** (errors - 1))
    assert backoff_seconds(errors, FixedRandom(0.0)) == 0.5 * base
    assert backoff_seconds(errors, FixedRandom(0.999999)) < 1.5 * base
    rng = random.Random(42)
    samples = [backoff_seconds(errors, rng) for _sample in range(200)]
    assert all(0.5 * base <= s < 1.5 * base for s in samples)
    assert max(samples) - min(samples) > 0.5 * base  # really jittered


def test_backoff_is_reproducible_with_a_seed() -> None:
    assert [backoff_seconds(3, random.Random(7)) for _run in range(3)] == [
        backoff_seconds(3, random.Random(7))
    ] * 3
