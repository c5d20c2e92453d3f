"""An emergency renewal (the active certificate reported revoked) is announced even when a routine
renewal was announced earlier the same day: the once-a-day limit used to swallow it."""

from __future__ import annotations

from mdcore.events import URGENT, EventName
from mdcore.manager import Reason
from mdcore.ocsp.persist import StapleBook
from mdcore.ocsp.state import OcspStatus, StapleState


def _revoke_active(store, md: str, key_type: str = "p256") -> None:
    facts = store.active_set(md).certs[key_type]
    book = StapleBook.load(store)
    book.put("%s/%s" % (md, key_type), StapleState(cert_path="x", cert_sha256=facts.sha256_fingerprint, md=md,
                                                   key_type=key_type, status=OcspStatus.REVOKED,
                                                   renew_required=True, new_key_required=True,
                                                   revocation_reason="keyCompromise"))
    book.save()


def test_urgent_events_bypass_the_rate_limit(notifier, runner, clock):
    notifier.fire(EventName.RENEWED, "a.example", {"serials": {"p256": "01"}})
    clock.advance(3600)
    notifier.fire(EventName.RENEWED, "a.example", {"serials": {"p256": "02"}})  # routine: once a day
    notifier.fire(EventName.RENEWED, "a.example", {"serials": {"p256": "03"}, URGENT: True})
    assert runner.events() == [(EventName.RENEWED, "a.example")] * 2
    assert runner.calls[-1][1]["MDFLEET_URGENT"] == "1"


def test_emergency_renewal_after_key_compromise_is_announced(run_md, make_cfg, store, notifier, runner, clock):
    cfg = make_cfg(["www.example.org"])
    first = run_md(cfg, events=notifier)
    clock.advance(3600)
    run_md(cfg, events=notifier, force=True)  # a routine renewal, announced
    _revoke_active(store, first.md)
    clock.advance(600)
    again = run_md(make_cfg(["www.example.org"]), events=notifier)
    assert Reason.REVOKED in again.reasons and again.changed
    renewed = [env for argv, env, _t in runner.calls if argv[-2] == EventName.RENEWED]
    assert len(renewed) == 2 and renewed[-1]["MDFLEET_URGENT"] == "1"
    errors = [d for d in notifier.deliveries if d.event == EventName.RENEWED and d.suppressed]
    assert len(errors) == 1  # the forced one within a day of the first is still rate-limited
