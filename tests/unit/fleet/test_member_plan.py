"""The member plan: a shared domain imported here is never ordered (not by drive, renew --force or
acme_md_order), no ARI, no `renewing`; it waits for the issuer and says why. The issuer plans it
like a per-host domain. renew --ignore-backoff orders what is due despite backoff, nothing else."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from mdcore.clock import FakeClock
from mdcore.config import MdConfig
from mdcore.errors import ConfigError
from mdcore.events import EventName
from mdcore.fleet.bundle import parse_bundle
from mdcore.fleet.share import import_set
from mdcore.manager import Action, MdResult, Reason, drive_many

from ..fakeacme import FakeAcme
from ..helpers import FakeNet, RecordingEvents
from .conftest import ISSUER, MD, MEMBER

Cfg = Callable[..., MdConfig]
Issue = Callable[..., MdResult]


def test_member_without_a_set_waits(issue: Issue, shared_cfg: Cfg, fake_ca: FakeAcme, stores) -> None:
    events = RecordingEvents()
    result = issue(shared_cfg(MEMBER), host=MEMBER, events=events)
    assert (result.action, result.reasons, result.changed) == (Action.AWAIT_ISSUER, [Reason.NOT_IMPORTED], False)
    assert fake_ca.seen == [] and events.fired == []
    assert stores[MEMBER].active_set(MD) is None


def test_forced_renewal_on_a_member_is_refused_naming_the_issuer(issue: Issue, shared_cfg: Cfg,
                                                                 fake_ca: FakeAcme) -> None:
    with pytest.raises(ConfigError, match="shop is a shared domain ordered by web1: renew it there "
                                          r"\(mdfleet renew --force shop on web1\), then distribute it"):
        issue(shared_cfg(MEMBER), host=MEMBER, force=True)
    assert fake_ca.seen == []


def test_the_issuer_plans_it_like_a_per_host_domain(issue: Issue, shared_cfg: Cfg) -> None:
    first = issue(shared_cfg(ISSUER))
    assert (first.action, first.reasons) == (Action.ORDER, [Reason.NO_CERT])
    assert issue(shared_cfg(ISSUER)).action == Action.NONE
    assert issue(shared_cfg(ISSUER), force=True).reasons == [Reason.FORCED]


def _imported(issue: Issue, shared_cfg: Cfg, stores, clock: FakeClock) -> None:
    from mdcore.fleet.share import export_set

    issue(shared_cfg(ISSUER))
    data = export_set(stores[ISSUER], shared_cfg(ISSUER), MD, ISSUER, clock)
    import_set(stores[MEMBER], shared_cfg(MEMBER), parse_bundle(data), MEMBER, clock)


def test_an_imported_set_is_kept_until_late_then_the_member_says_the_issuer_is_late(
        issue: Issue, shared_cfg: Cfg, stores, clock: FakeClock, fake_ca: FakeAcme) -> None:
    _imported(issue, shared_cfg, stores, clock)
    seen = len(fake_ca.seen)
    events = RecordingEvents()
    fresh = issue(shared_cfg(MEMBER), host=MEMBER, events=events)
    assert (fresh.action, fresh.reasons) == (Action.NONE, [])
    clock.advance(datetime.timedelta(days=61).total_seconds())  # 90-day certificate, 33% window: due at day 60.3
    late = issue(shared_cfg(MEMBER), host=MEMBER, events=events)
    assert (late.action, late.reasons) == (Action.AWAIT_ISSUER, [Reason.ISSUER_LATE])
    assert len(fake_ca.seen) == seen  # no ARI poll, no order: nothing at all to the CA
    assert EventName.RENEWING not in events.names()


def test_a_member_whose_set_no_longer_matches_its_config_waits(issue: Issue, shared_cfg: Cfg, stores,
                                                               clock: FakeClock) -> None:
    _imported(issue, shared_cfg, stores, clock)
    result = issue(shared_cfg(MEMBER, key_types=["p256", "p384"]), host=MEMBER)
    assert (result.action, result.reasons) == (Action.AWAIT_ISSUER, [Reason.KEYS_CHANGED])
    result = issue(shared_cfg(MEMBER, domains=["shop.example"]), host=MEMBER)
    assert (result.action, result.reasons) == (Action.AWAIT_ISSUER, [Reason.NAMES_CHANGED])


def test_drive_many_forced_skips_imported_domains(stores, shared_cfg: Cfg, make_cfg: Cfg, clock: FakeClock,
                                                  net: FakeNet, fake_ca: FakeAcme) -> None:
    store = stores[MEMBER]
    fake_ca.webroot = store.challenges_dir
    own = make_cfg(["own.example"], name="own")
    with store.lock(1):
        results = drive_many(store, [shared_cfg(MEMBER), own], clock, force=True, transport_factory=net.transport)
    assert [(r.md, r.action) for r in results] == [(MD, Action.AWAIT_ISSUER), ("own", Action.ORDER)]


def test_ignore_backoff_orders_what_is_due_but_never_what_is_valid(issue: Issue, make_cfg: Cfg,
                                                                   fake_ca: FakeAcme) -> None:
    fake_ca.fail_validation = "Invalid response: 404"
    with pytest.raises(Exception, match="Invalid response"):
        issue(make_cfg(["due.example"], name="due"))
    fake_ca.fail_validation = None
    assert issue(make_cfg(["due.example"], name="due")).action == Action.BACKOFF
    ordered = issue(make_cfg(["due.example"], name="due"), ignore_backoff=True)
    assert (ordered.action, ordered.changed, ordered.reasons) == (Action.ORDER, True, [Reason.NO_CERT])
    posts = fake_ca.count(method="POST")
    again = issue(make_cfg(["due.example"], name="due"), ignore_backoff=True)
    assert (again.action, again.changed) == (Action.NONE, False)
    assert fake_ca.count(method="POST") == posts
