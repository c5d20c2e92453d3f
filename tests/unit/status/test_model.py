"""The status model: state and health of managed domains as the store shows them, at the fake
clock's time (renew and warn windows, errors, orders in progress, stapling, static files)."""

from __future__ import annotations

import datetime
import json
import os

import pytest

from mdcore.ocsp.persist import StapleBook
from mdcore.ocsp.state import OcspStatus
from mdcore.status import Health, MdState, build_status
from mdcore.status.build import managed_domain_names
from mdcore.status.model import StapleHealth

from .synth import DAY, Spec


def one(store, clock, name="a.example"):
    report = build_status(store, clock)
    md = report.get(name)
    assert md is not None, [m.name for m in report.domains]
    return md


def test_fresh_certificate_is_ok_with_mod_md_windows(synth, clock):
    store = synth(Spec("a.example", age=10 * DAY))
    md = one(store, clock)
    assert (md.state, md.health) == (MdState.COMPLETE, Health.OK)
    cert = md.certs[0]
    lifetime = cert.not_after - cert.not_before
    assert md.renew_at == cert.not_after - lifetime * 0.33
    assert md.warn_at == cert.not_after - lifetime * 0.10
    assert not md.renew and md.renewal.finished and md.renewal.errors == 0
    assert cert.files.key.endswith("/domains/a.example/p256/privkey.pem")
    assert md.domains == ["a.example", "www.a.example"] and md.ca_urls == ["https://ca.test/dir"]


def test_renew_window_reached_is_renewing(synth, clock):
    md = one(synth(Spec("a.example", age=70 * DAY)), clock)
    assert (md.state, md.health, md.renew) == (MdState.COMPLETE, Health.RENEWING, True)
    assert "renew window 33%" in md.health_descr


def test_warn_window_is_expiring(synth, clock):
    md = one(synth(Spec("a.example", age=82 * DAY)), clock)
    assert md.health == Health.EXPIRING and "warn window 10%" in md.health_descr


def test_windows_as_durations(synth, clock):
    md = one(synth(Spec("a.example", age=60 * DAY, renew_window="40d", warn_window="20d")), clock)
    assert md.renew_at == md.valid_until - datetime.timedelta(days=40)
    assert md.health == Health.RENEWING  # 30 days left: inside 40d, outside 20d
    store = synth(Spec("b.example", age=75 * DAY, renew_window="40d", warn_window="20d"))
    later = one(store, clock, "b.example")
    assert later.health == Health.EXPIRING  # 15 days left


def test_expired(synth, clock):
    md = one(synth(Spec("a.example", age=91 * DAY)), clock)
    assert (md.state, md.health) == (MdState.EXPIRED, Health.EXPIRED)
    assert md.state_descr == "certificate(p256) has expired"


def test_renewal_errors_are_errors_with_the_ca_problem(synth, clock):
    md = one(synth(Spec("a.example", age=70 * DAY, errors=3)), clock)
    assert (md.state, md.health) == (MdState.COMPLETE, Health.ERROR)
    assert md.renewal.errors == 3 and md.renewal.last_error.problem_type.endswith(":rateLimited")
    assert md.renewal.next_run == md.renewal.next_retry == clock.now() + datetime.timedelta(hours=2)
    assert "renewal failed 3 times" in md.health_descr


def test_no_certificate_yet_is_incomplete(synth, clock):
    md = one(synth(Spec("a.example", issued=False, order_pending=True)), clock)
    assert (md.state, md.health) == (MdState.INCOMPLETE, Health.INCOMPLETE)
    assert md.state_descr == "certificate(p256) is missing"  # mod_md's words
    assert not md.renewal.finished and md.renew and md.certs == []


def test_first_order_failing_is_an_error(synth, clock):
    md = one(synth(Spec("a.example", issued=False, errors=1)), clock)
    assert (md.state, md.health) == (MdState.INCOMPLETE, Health.ERROR)


def test_order_in_progress_is_renewing(synth, clock):
    md = one(synth(Spec("a.example", age=20 * DAY, order_pending=True)), clock)
    assert md.health == Health.RENEWING and md.health_descr == "order in progress"


def test_key_type_added_in_config_is_incomplete_and_renewing(synth, clock):
    store = synth(Spec("a.example"))
    path = store.job_path("a.example")
    job = json.load(open(path))
    job["config"]["key_types"] = ["p256", "rsa2048"]
    json.dump(job, open(path, "w"))
    md = one(store, clock)
    assert (md.state, md.health) == (MdState.INCOMPLETE, Health.RENEWING)
    assert md.state_descr == "certificate(rsa2048) is missing"


def test_names_changed_is_incomplete(synth, clock):
    store = synth(Spec("a.example"))
    path = store.job_path("a.example")
    job = json.load(open(path))
    job["config"]["names"].append("new.a.example")
    json.dump(job, open(path, "w"))
    md = one(store, clock)
    assert md.state == MdState.INCOMPLETE and "does not cover all domains (new.a.example)" in md.state_descr


def test_stapling_views(synth, clock):
    store = synth(Spec("good.example"), Spec("noresp.example", ocsp=OcspStatus.NO_RESPONDER),
                  Spec("flaky.example", ocsp_errors=2), Spec("revoked.example", ocsp=OcspStatus.REVOKED),
                  Spec("lost.example", ocsp_expired=True), Spec("never.example", ocsp=None))
    report = build_status(store, clock)
    staple = {md.name: md.certs[0].staple for md in report.domains}
    assert (staple["good.example"].status, staple["good.example"].health) == (
        OcspStatus.GOOD,
        StapleHealth.OK,
    )
    assert (staple["noresp.example"].status, staple["noresp.example"].health) == (
        OcspStatus.NO_RESPONDER,
        StapleHealth.NONE,
    )
    assert staple["flaky.example"].health == StapleHealth.WARNING and staple["flaky.example"].errors == 2
    assert staple["revoked.example"].health == StapleHealth.ERROR
    assert staple["revoked.example"].new_key_required
    assert staple["lost.example"].status == OcspStatus.EXPIRED
    assert staple["lost.example"].health == StapleHealth.ERROR
    assert staple["never.example"].status == OcspStatus.NONE  # has an OCSP URL, nothing fetched yet
    health = {md.name: md.health for md in report.domains}
    assert health == {"good.example": Health.OK, "noresp.example": Health.OK, "flaky.example": Health.OK,
                      "revoked.example": Health.ERROR, "lost.example": Health.ERROR,
                      "never.example": Health.OK}
    assert report.get("revoked.example").state == MdState.ERROR
    # revoked is renewed at the next run, as the manager plans it (Reason.REVOKED)
    assert report.get("revoked.example").renew_at == clock.now()
    assert report.get("good.example").renew_at > clock.now()


def test_staple_of_a_replaced_certificate_is_not_shown_as_current(synth, clock):
    store = synth(Spec("a.example"))
    book = StapleBook.load(store)
    state = book.get("a.example/p256")
    state.cert_sha256 = "0" * 64
    book.put("a.example/p256", state)
    book.save()
    assert one(store, clock).certs[0].staple.status == OcspStatus.NONE


def test_most_urgent_first_and_names_filter(synth, clock):
    store = synth(Spec("ok.example"), Spec("renewing.example", age=70 * DAY),
                  Spec("expiring.example", age=85 * DAY),
                  Spec("error.example", errors=1), Spec("expired.example", age=100 * DAY),
                  Spec("incomplete.example", issued=False))
    report = build_status(store, clock)
    assert [md.name for md in report.by_urgency()] == [
        "expired.example", "error.example", "incomplete.example", "expiring.example", "renewing.example",
        "ok.example"]
    assert report.summary() == {h: 1 for h in Health.ORDER}
    only = build_status(store, clock, names=["ok.example", "error.example"])
    assert sorted(md.name for md in only.domains) == ["error.example", "ok.example"]
    assert managed_domain_names(store) == sorted(md.name for md in report.domains)


def test_unreadable_store_files_do_not_break_status(synth, clock):
    store = synth(Spec("a.example"), Spec("b.example"))
    with open(os.path.join(store.active_dir("a.example"), "set.json"), "w") as handle:
        handle.write("{not json")
    with open(store.job_path("b.example"), "w") as handle:
        handle.write("[]")
    with open(store.path("ocsp", "staples.json")) as handle:
        doc = json.load(handle)
    doc["staples"]["b.example/p256"] = "garbage"  # one unreadable entry
    with open(store.path("ocsp", "staples.json"), "w") as handle:
        json.dump(doc, handle)
    report = build_status(store, clock)
    a, b = report.get("a.example"), report.get("b.example")
    # never guessed: a set.json that does not read is an error of that domain, named with its file
    assert a.health == Health.ERROR and a.state == MdState.ERROR
    assert "a.example/set.json is corrupt: not JSON" in a.health_descr and "renew --force a.example" in a.health_descr
    # a job file is derived state: shown, and set aside by the next run
    assert b.health == Health.ERROR and "b.example.json is corrupt: job must be a JSON object" in b.health_descr
    assert b.state == MdState.COMPLETE and b.certs[0].staple.status == "none"
    with open(store.path("ocsp", "staples.json"), "w") as handle:
        handle.write("garbage")
    report = build_status(store, clock)
    assert report.get("b.example").certs[0].staple.status == "none"


def test_empty_or_missing_store(tmp_path, clock):
    from mdcore.store import Store

    report = build_status(Store(str(tmp_path / "nothing"), clock), clock)
    assert report.domains == [] and report.summary()["ok"] == 0


def test_static_files_are_monitored(synth, clock, test_ca, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    leaf = test_ca.issue(key.public_key(), ["legacy.example"], clock.now() - 85 * DAY, 90 * DAY)
    pem = tmp_path / "legacy.pem"
    pem.write_bytes(test_ca.chain_pem(leaf))
    store = synth(Spec("a.example"))
    report = build_status(store, clock, others=[str(pem), str(tmp_path / "missing.pem")])
    static = report.get(str(pem))
    assert static.static and static.health == Health.EXPIRING and static.domains == ["legacy.example"]
    assert static.certs[0].serial == "%X" % leaf.serial_number and static.renewal is None
    assert static.certs[0].staple.status == OcspStatus.NONE  # the test CA's leaves name an OCSP URL
    missing = report.get(str(tmp_path / "missing.pem"))
    assert missing.health == Health.ERROR and "cannot read certificate" in missing.certs[0].error


def test_files_stapled_as_others_are_discovered(synth, clock, test_ca, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    from mdcore.ocsp.config import StapleTarget
    from mdcore.ocsp.persist import paths_for
    from mdcore.ocsp.state import StapleState

    leaf = test_ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), ["other.example"],
                         clock.now() - DAY, 90 * DAY)
    pem = tmp_path / "other.pem"
    pem.write_bytes(test_ca.chain_pem(leaf))
    store = synth(Spec("a.example"))
    store.setup()
    book = StapleBook.load(store)
    book.put(paths_for(store, StapleTarget(cert_path=str(pem))).key,
             StapleState(cert_path=str(pem), cert_sha256="ff" * 32, status=OcspStatus.NONE))
    book.save()
    report = build_status(store, clock)
    assert report.get(str(pem)) is not None and report.get(str(pem)).health == Health.OK


def test_status_of_a_store_written_by_the_engine(run_md, make_cfg, store, clock):
    """The synthetic stores above mimic this: a set issued by the engine (fake CA) reads back with
    the facts the manager returned, without parsing any certificate."""
    result = run_md(make_cfg(["www.example.org", "example.org"], key_types=["p256", "rsa2048"],
                             renew_window="30d", warn_window="7d"))
    md = one(store, clock, result.md)
    assert (md.state, md.health) == (MdState.COMPLETE, Health.OK)
    assert md.key_types == ["p256", "rsa2048"] and md.renew_window == "30d" and md.warn_window == "7d"
    for cert in md.certs:
        facts = result.certificates[cert.key_type]
        assert cert.serial == facts["serial"] and cert.sha256_fingerprint == facts["sha256_fingerprint"]
        assert cert.files.cert == facts["cert_path"] and os.path.isfile(cert.files.cert)
        assert cert.renew_at == cert.not_after - datetime.timedelta(days=30)
    assert md.renewal.last_success == clock.now().replace(microsecond=0)  # stamps have whole seconds
    assert md.renewal.log[-1].kind == "renewed"


def test_failed_order_is_not_shown_as_in_progress(run_md, make_cfg, store, clock, fake_ca):
    """A failed first order left staging/<md>/order.json with "orders": {} behind, and status said
    "order in progress" (mdfleet_md_order_pending 1) until the next attempt."""
    from mdcore.errors import MdError
    from mdcore.status import render_prometheus

    fake_ca.fail_validation = "the token was not there"
    with pytest.raises(MdError):
        run_md(make_cfg(["fail.example.org"]))
    assert os.path.exists(os.path.join(store.staging_dir("fail.example.org"), "order.json"))
    md = one(store, clock, "fail.example.org")
    assert md.renewal.order_pending is False and "order in progress" not in (md.health_descr or "")
    text = render_prometheus(build_status(store, clock))
    assert 'mdfleet_md_order_pending{md="fail.example.org"} 0' in text
