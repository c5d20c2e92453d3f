"""Refresh windows, backoff with jitter, due decisions: pure functions of an injected time."""

from __future__ import annotations

import datetime
import random

import pytest

from mdcore.errors import ConfigError
from mdcore.ocsp import StapleState, StaplingConfig, Window
from mdcore.ocsp.timing import DueReason, backoff_seconds, decide, next_retry

T0 = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


@pytest.mark.parametrize("text, percent, seconds", [
    ("33%", 33.0, None), ("50 %", 50.0, None), ("2d", None, 172800.0), ("12h", None, 43200.0),
    ("90s", None, 90.0), ("1w", None, 604800.0), ("2", None, 172800.0), (1, None, 86400.0), ("90M", None, 5400.0),
])
def test_window_parse(text, percent, seconds):
    window = Window.parse(text)
    assert (window.percent, window.seconds) == (percent, seconds)


@pytest.mark.parametrize("bad", ["0%", "100%", "abc", "-5s", "2 days", ""])
def test_window_parse_rejects(bad):
    with pytest.raises(ConfigError):
        Window.parse(bad)


def test_refresh_at_percent_and_duration():
    this, nxt = T0, T0 + 6 * D
    assert Window.parse("33%").start(this, nxt) == nxt - 6 * D * 0.33
    assert Window.parse("2d").start(this, nxt) == nxt - 2 * D
    # a window as long as the response's lifetime would refresh at every run: half of it instead
    assert Window.parse("10d").start(this, nxt) == this + 3 * D
    assert Window.parse("6d").start(this, nxt) == this + 3 * D


def test_stapling_window_reads_like_the_renew_window():
    """One rule for every window (mod_md's): the host config's check and the engine agree."""
    from mdcore import window as window_module

    assert StaplingConfig(window="2").window == window_module.Window.parse("2", "renew window")
    assert StaplingConfig(window=3).window.seconds == 3 * 86400


def test_backoff_doubles_with_jitter_and_caps():
    config = StaplingConfig()
    rng = random.Random(1)
    for errors, nominal in ((1, 30), (2, 60), (3, 120), (6, 960)):
        for _attempt in range(50):
            delay = backoff_seconds(errors, config, rng)
            assert nominal * 0.5 <= delay <= nominal * 1.5
    assert all(43200 <= backoff_seconds(30, config, rng) <= 129600 for _attempt in range(50))
    assert backoff_seconds(1000, config, rng) <= 129600  # no overflow on absurd counts
    delays = {round(backoff_seconds(4, config, rng)) for _attempt in range(20)}
    assert len(delays) > 10  # jitter: a fleet does not retry in lockstep


def test_retry_comes_before_a_stored_response_expires():
    config = StaplingConfig()
    state = StapleState(response="AA==", this_update=T0 - 3 * D, next_update=T0 + 2 * H)
    for errors in range(1, 20):
        retry = next_retry(T0, errors, state, config, random.Random(errors))
        assert retry <= T0 + H  # at most half of what is left
    nothing = StapleState()
    assert next_retry(T0, 20, nothing, config, random.Random(2)) > T0 + 10 * H


def _state(**kw):
    base = dict(cert_sha256="c1", responder="http://r/", response="AA==", status="good",
                this_update=T0 - D, next_update=T0 + 3 * D, refresh_at=T0 + 2 * D)
    base.update(kw)
    return StapleState(**base)


def test_decide():
    assert decide(None, "c1", "http://r/", T0).reason == DueReason.NO_RESPONSE
    assert not decide(_state(), "c1", "http://r/", T0).due
    assert decide(_state(), "c2", "http://r/", T0).reason == DueReason.NEW_CERT
    assert decide(_state(), "c1", "http://other/", T0).reason == DueReason.NEW_RESPONDER
    assert decide(_state(), "c1", "http://r/", T0 + 2 * D).reason == DueReason.WINDOW
    assert decide(_state(), "c1", "http://r/", T0 + 4 * D).reason == DueReason.EXPIRED
    waiting = decide(_state(errors=2, next_retry=T0 + H), "c1", "http://r/", T0 + H / 2)
    assert not waiting.due and waiting.waiting
    retry = decide(_state(errors=2, next_retry=T0 + H), "c1", "http://r/", T0 + 2 * H)
    assert retry.due and retry.reason == DueReason.RETRY
    # a new certificate does not wait for the old one's backoff
    assert decide(_state(errors=5, next_retry=T0 + D), "c2", "http://r/", T0).due
