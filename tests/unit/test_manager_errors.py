"""ensure_md failures: job state, backoff (and what lifts it), CA failover, the 'errored' event."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from mdcore.acme.problems import ACME_NS, AcmeProblemError
from mdcore.clock import FakeClock
from mdcore.config import MdConfig
from mdcore.errors import MdError, NetworkError
from mdcore.manager import Action, MdResult, Reason, ensure_many
from mdcore.net import HttpFailure
from mdcore.state.job import JobState
from mdcore.store import Store

from .fakeacme import FakeAcme, problem
from .helpers import FakeNet, RecordingEvents
from .testca import TestCA

Run = Callable[..., MdResult]
MakeCfg = Callable[..., MdConfig]
DETAIL = "Invalid response from http://www.example.org/.well-known/acme-challenge/abc: 404"


def _job(store: Store, md: str = "www.example.org") -> JobState:
    return store.read_job(md)


def _retry_in(job: JobState, clock: FakeClock) -> float:
    at = job.next_retry
    assert at is not None
    return (at - clock.now().replace(microsecond=0)).total_seconds()  # stamps have whole seconds


def test_failure_records_job_error_and_backoff(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    fake_ca.fail_validation = DETAIL
    events = RecordingEvents()
    with pytest.raises(AcmeProblemError, match=DETAIL):
        run_md(make_cfg(), events=events)
    job = _job(store)
    assert job.errors == 1
    assert job.last_error is not None and job.last_error.problem_type == ACME_NS + "unauthorized"
    assert job.last_error.detail == DETAIL and job.last_error.retry_hot is False
    assert _retry_in(job, clock) >= 3600  # bad input is not retried hot
    assert events.fired[-1] == ("errored", "www.example.org")
    assert store.active_set("www.example.org") is None
    assert job.log[-1].kind == "error" and DETAIL in job.log[-1].detail


def test_second_run_in_backoff_contacts_no_ca(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    fake_ca.inject("newOrder", problem("serverInternal", "database on fire", 500))
    with pytest.raises(AcmeProblemError, match="database on fire"):
        run_md(make_cfg())
    job = _job(store)
    assert 15 <= _retry_in(job, clock) < 45  # 30 s +-50 %
    before = len(fake_ca.seen)
    result = run_md(make_cfg())
    assert result.action == Action.BACKOFF and not result.changed
    assert job.next_retry is not None
    assert len(fake_ca.seen) == before

    clock.advance(46)  # backoff over: tried again, and success clears the job's errors
    assert run_md(make_cfg()).action == Action.ORDER
    job = _job(store)
    assert job.errors == 0 and job.last_error is None and job.next_retry is None


def test_backoff_grows_with_repeated_errors(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    waits = []
    for _failure in range(4):
        fake_ca.inject("newOrder", problem("serverInternal", "down", 500))
        with pytest.raises(MdError):
            run_md(make_cfg())
        waits.append(_retry_in(_job(store), clock))
        clock.advance(waits[-1] + 1)
    assert _job(store).errors == 4
    assert 15 <= waits[0] < 45 and 120 <= waits[3] < 360


def test_changed_input_ignores_backoff(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme) -> None:
    fake_ca.reject = {"bad.example.org": "Domain name is on a blocklist"}
    with pytest.raises(AcmeProblemError, match="blocklist"):
        run_md(make_cfg(["www.example.org", "bad.example.org"], name="www.example.org"))
    assert (
        run_md(make_cfg(["www.example.org", "bad.example.org"], name="www.example.org")).action
        == Action.BACKOFF
    )
    result = run_md(make_cfg(["www.example.org"]))  # operator fixed the names
    assert result.action == Action.ORDER and result.changed


def test_force_ignores_backoff(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme) -> None:
    fake_ca.inject("newOrder", problem("serverInternal", "down", 500))
    with pytest.raises(MdError):
        run_md(make_cfg())
    assert run_md(make_cfg(), force=True).changed


def test_rate_limit_retry_after_is_kept(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    fake_ca.inject(
        "newOrder",
        problem(
            "rateLimited", "too many certificates (5) already issued", 429, headers={"Retry-After": "86400"}
        ),
    )
    with pytest.raises(AcmeProblemError, match="rateLimited"):
        run_md(make_cfg())
    job = _job(store)
    assert _retry_in(job, clock) >= 86400
    assert job.last_error is not None and job.last_error.problem_type == ACME_NS + "rateLimited"


def test_unreachable_ca(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store) -> None:
    fake_ca.inject("directory", HttpFailure(HttpFailure.UNREACHABLE, fake_ca.directory_url, "Connection refused"))
    with pytest.raises(NetworkError, match="cannot reach https://ca.test/dir: Connection refused"):
        run_md(make_cfg())
    job = _job(store)
    assert job.errors == 1 and job.last_error is not None and job.last_error.problem_type is None


def test_failover_to_second_ca(
    run_md: Run,
    make_cfg: MakeCfg,
    fake_ca: FakeAcme,
    net: FakeNet,
    clock: FakeClock,
    test_ca: TestCA,
    store: Store,
) -> None:
    second = FakeAcme(clock, test_ca, "https://ca2.test")
    net.cas[second.directory_url] = second
    fake_ca.inject("newOrder", problem("serverInternal", "down", 503))
    events = RecordingEvents()
    result = run_md(make_cfg(cas=[{"url": second.directory_url}]), events=events)
    assert result.changed
    assert store.active_set("www.example.org").ca_url == second.directory_url
    assert second.count("newOrder") == 1 and fake_ca.count("newOrder") == 1
    assert "errored" not in events.names()
    assert _job(store).errors == 0


def test_all_cas_fail_reports_the_last(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, net: FakeNet, clock: FakeClock, test_ca: TestCA
) -> None:
    second = FakeAcme(clock, test_ca, "https://ca2.test")
    net.cas[second.directory_url] = second
    fake_ca.inject("newOrder", problem("serverInternal", "first down", 503))
    second.inject("newOrder", problem("serverInternal", "second down", 503))
    with pytest.raises(AcmeProblemError, match="second down"):
        run_md(make_cfg(cas=[{"url": second.directory_url}]))


def test_ensure_many_isolates_failures(
    store: Store, make_cfg: MakeCfg, fake_ca: FakeAcme, net: FakeNet, clock: FakeClock
) -> None:
    fake_ca.webroot = store.challenges_dir
    fake_ca.reject = {"bad.example.org": "no"}
    good, bad = make_cfg(["good.example.org"]), make_cfg(["bad.example.org"])
    results = ensure_many(store, [good, bad], clock, workers=2, transport_factory=net.transport)
    assert isinstance(results[0], MdResult) and results[0].changed
    assert isinstance(results[1], AcmeProblemError)
    assert fake_ca.count("newAccount") == 1  # one account for the CA, even in parallel
    assert store.managed_names() == ["good.example.org"]


def test_renewal_failure_keeps_the_old_set(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    first = run_md(make_cfg())
    clock.advance(datetime.timedelta(days=70).total_seconds())
    fake_ca.fail_validation = DETAIL
    with pytest.raises(AcmeProblemError):
        run_md(make_cfg())
    active = store.active_set("www.example.org")
    assert active is not None and active.certs["p256"].serial == first.certificates["p256"]["serial"]
    later = run_md(make_cfg())  # within the backoff: the old certificate is still reported
    assert later.action == Action.BACKOFF and Reason.RENEW_WINDOW in later.reasons
    assert later.certificates["p256"]["serial"] == first.certificates["p256"]["serial"]


def test_failover_gives_each_ca_its_own_deadline(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, net: FakeNet, clock: FakeClock, test_ca: TestCA,
    store: Store,
) -> None:
    """A first CA stuck in 'processing' used to eat the shared order deadline (117 s of 120 s),
    leaving the second CA 3 s: now each CA gets order_timeout of its own."""
    second = FakeAcme(clock, test_ca, "https://ca2.test")
    net.cas[second.directory_url] = second
    second.webroot = store.challenges_dir
    fake_ca.stuck_processing = True
    second.processing_polls = 3
    second.processing_retry_after = "20"  # the second CA needs a minute of polling too
    start = clock.monotonic()
    result = run_md(make_cfg(cas=[{"url": second.directory_url}], order_timeout=120))
    assert result.changed and store.active_set("www.example.org").ca_url == second.directory_url
    assert clock.monotonic() - start > 120  # the first CA's time ran out, the second had its own
