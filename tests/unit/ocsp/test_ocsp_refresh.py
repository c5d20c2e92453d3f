"""The stapling facade with a fake responder and a FakeClock: refresh timing, backoff, outages,
hostile responses, persistence, outputs, check mode, revocation, no-responder, pruning."""

from __future__ import annotations

import base64
import datetime
import json
import os

import pytest
from cryptography.x509 import ocsp

from mdcore.ocsp import (
    OcspStatus,
    StapleAction,
    StapleTarget,
    StaplingConfig,
    managed_targets,
    refresh_staples,
    staple_state,
    staple_state_of_file,
)
from mdcore.ocsp.persist import BOOK_FILE, paths_for
from peers.ocsp_fault_responder import Fault
from peers.ocsp_pki import install_md

from ..fakehaproxy import FakeHaproxy
from .conftest import OCSP_URL

D = datetime.timedelta(days=1)
MD = "www.example.org"


@pytest.fixture
def web(tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    return folder


@pytest.fixture
def setup_md(store, leaf, web):
    install_md(store, MD, leaf)
    return managed_targets(store, {MD: {"staple_file": str(web / "www.der"),
                                        "haproxy_ocsp_file": str(web / "www.pem.ocsp")}})


def run(store, targets, clock, http, config, rng, **kw):
    return refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, **kw)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def book(store):
    with open(store.path("ocsp", BOOK_FILE), encoding="utf-8") as handle:
        return json.load(handle)


def test_first_fetch_persists_and_writes_outputs(store, setup_md, clock, http, config, rng, web, leaf):
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FETCHED and res.status == OcspStatus.GOOD
    assert res.error is None and res.last_error is None and res.changed
    assert res.responder == OCSP_URL
    assert len(http.calls) == 1 and http.calls[0][0] == "GET"
    der = read(web / "www.der")
    assert der == read(web / "www.pem.ocsp")
    # the certificate has staple files of its own: no .der copy in the store
    assert res.store_file is None and not os.path.exists(store.ocsp_dir(MD))
    assert set(res.changed_files) == {str(web / "www.der"), str(web / "www.pem.ocsp")}
    assert ocsp.load_der_ocsp_response(der).certificate_status == ocsp.OCSPCertStatus.GOOD
    # lifetime 4 days, window 33%: refresh 1.32 days before nextUpdate
    assert res.refresh_at == res.next_update - 4 * D * 0.33
    assert res.fetched_at == clock.now()
    meta = book(store)["staples"][MD + "/p256"]
    assert meta["status"] == "good" and meta["version"] == 1 and meta["errors"] == 0
    assert meta["certid"]["hash"] == "sha1" and meta["certid"]["serial"] == "%X" % leaf.cert.serial_number
    assert base64.b64decode(meta["response"]) == der
    for key in ("this_update", "next_update", "fetched_at", "refresh_at", "responder", "cert_sha256",
                "last_error", "next_retry", "renew_required", "new_key_required", "revocation_time"):
        assert key in meta
    state = staple_state(store, MD, "p256")
    assert state.status == OcspStatus.GOOD and state.next_update == res.next_update
    assert (os.stat(store.path("ocsp", BOOK_FILE)).st_mode & 0o777) == 0o600


def test_store_copy_for_certificates_without_staple_files(store, leaf, clock, http, config, rng):
    install_md(store, MD, leaf)
    [res] = run(store, managed_targets(store), clock, http, config, rng)
    assert res.store_file == os.path.join(store.ocsp_dir(MD), "p256.der") and res.changed_files == [res.store_file]
    assert base64.b64decode(book(store)["staples"][MD + "/p256"]["response"]) == read(res.store_file)
    assert (os.stat(res.store_file).st_mode & 0o777) == 0o644


def test_nothing_due_asks_nobody_and_changes_nothing(store, setup_md, clock, http, config, rng, web):
    run(store, setup_md, clock, http, config, rng)
    mtime = os.stat(web / "www.der").st_mtime_ns
    clock.advance(3600)
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.KEPT and not res.changed and res.error is None
    assert len(http.calls) == 1
    assert os.stat(web / "www.der").st_mtime_ns == mtime


def test_nothing_due_reads_no_certificate_the_store_vouches_for(
        store, leaf, clock, http, config, rng, monkeypatch):
    """A run whose plan found the active set intact (Store.damage, under the lock) hands stapling
    the certificate's hash: with nothing due the file is not read. Without that check, or once
    the file changed, it is read (and a changed certificate is stapled anew)."""
    from mdcore.ocsp import refresh

    install_md(store, MD, leaf)
    run(store, managed_targets(store), clock, http, config, rng)
    reads = []
    real = refresh.read_subject
    monkeypatch.setattr(refresh, "read_subject", lambda path, *a: reads.append(path) or real(path, *a))
    cert_set = store.active_set(MD)
    with store.lock(1):
        [unchecked] = managed_targets(store)
        assert unchecked.cert_sha256 is None  # nothing looked at the files in this hold of the lock
        assert store.damage(MD, cert_set) is None
        [target] = managed_targets(store)
        assert target.cert_sha256 == cert_set.certs["p256"].sha256_fingerprint
        [res] = run(store, [target], clock, http, config, rng)
    assert res.action == StapleAction.KEPT and reads == [] and len(http.calls) == 1
    with open(target.cert_path, "ab") as handle:
        handle.write(b"\n")  # damaged: the store no longer vouches for it
    with store.lock(1):
        assert store.damage(MD, cert_set) is not None
        [target] = managed_targets(store)
        assert target.cert_sha256 is None
        run(store, [target], clock, http, config, rng)
    assert reads == [target.cert_path]


def test_refresh_inside_window(store, setup_md, clock, http, config, rng):
    [first] = run(store, setup_md, clock, http, config, rng)
    clock.advance((first.refresh_at - clock.now()).total_seconds() - 60)
    assert run(store, setup_md, clock, http, config, rng)[0].action == StapleAction.KEPT
    clock.advance(120)
    [second] = run(store, setup_md, clock, http, config, rng)
    assert second.action == StapleAction.FETCHED and second.changed
    assert second.this_update > first.this_update and len(http.calls) == 2


def test_duration_window(store, setup_md, clock, http, rng):
    config = StaplingConfig(window="12h", workers=1)
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.refresh_at == res.next_update - datetime.timedelta(hours=12)


def test_changed_window_applies_to_stored_responses_at_once(store, setup_md, clock, http, rng):
    """mod_md applies a new MDStaplingRenewWindow at once; so do we (the refresh time is not frozen
    at fetch time): a wider window makes the stored response due now, without waiting for the old
    refresh time, and the book shows the new time."""
    [first] = run(store, setup_md, clock, http, StaplingConfig(window="33%", workers=1), rng)
    clock.advance(3600)
    wide = StaplingConfig(window="99%", workers=1)
    [second] = run(store, setup_md, clock, http, wide, rng)
    assert second.action == StapleAction.FETCHED and len(http.calls) == 2
    narrow = StaplingConfig(window="10%", workers=1)
    clock.advance(60)
    [third] = run(store, setup_md, clock, http, narrow, rng)
    assert third.action == StapleAction.KEPT and len(http.calls) == 2
    assert third.refresh_at == third.next_update - 4 * D * 0.10
    assert staple_state(store, MD, "p256").refresh_at == third.refresh_at
    assert first.refresh_at != third.refresh_at


def test_unchanged_window_does_not_rewrite_the_book(store, setup_md, clock, http, config, rng):
    run(store, setup_md, clock, http, config, rng)
    mtime = os.stat(store.path("ocsp", BOOK_FILE)).st_mtime_ns
    clock.advance(3600)
    run(store, setup_md, clock, http, config, rng)
    assert os.stat(store.path("ocsp", BOOK_FILE)).st_mtime_ns == mtime


def test_outage_keeps_serving_backs_off_and_recovers(store, setup_md, clock, http, config, rng, web):
    [good] = run(store, setup_md, clock, http, config, rng)
    der = read(web / "www.der")
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    http.error = "responder ocsp.test unreachable: connection refused"
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FAILED and res.status == OcspStatus.GOOD
    assert res.error == res.last_error == http.error and res.errors == 1
    assert not res.changed
    sec = datetime.timedelta(seconds=1)
    assert clock.now() + 15 * sec <= res.next_retry <= clock.now() + 45 * sec
    assert read(web / "www.der") == der
    # retried only after the backoff, each time later
    calls = len(http.calls)
    assert run(store, setup_md, clock, http, config, rng)[0].action == StapleAction.BACKOFF
    assert len(http.calls) == calls
    delays = []
    while clock.now() < good.next_update - datetime.timedelta(hours=2):
        state = staple_state(store, MD, "p256")
        delays.append((state.next_retry - clock.now()).total_seconds())
        clock.advance(delays[-1] + 1)
        res = run(store, setup_md, clock, http, config, rng)[0]
        assert res.action == StapleAction.FAILED and res.status == OcspStatus.GOOD
    assert delays[1] > delays[0] and max(delays) > 1000 and res.errors == len(delays) + 1
    assert read(web / "www.der") == der
    # the outage outlasts the response: reported as expired, files are not destroyed
    clock.advance((good.next_update - clock.now()).total_seconds() + 1)
    res = run(store, setup_md, clock, http, config, rng)[0]
    assert res.status == OcspStatus.EXPIRED and res.action in (StapleAction.FAILED, StapleAction.BACKOFF)
    # the responder is back: refreshed, errors cleared
    http.error = None
    clock.advance(2 * 86400)
    res = run(store, setup_md, clock, http, config, rng)[0]
    assert res.action == StapleAction.FETCHED and res.status == OcspStatus.GOOD
    assert res.errors == 0 and res.last_error is None and res.next_retry is None
    assert read(web / "www.der") != der


@pytest.mark.parametrize("mode, reason", [
    (Fault.GARBAGE, "do not parse"),
    (Fault.HTTP_500, "answered HTTP 500"),
    (Fault.WRONG_KEY, "signature does not verify"),
    (Fault.ROGUE_DELEGATE, "did not sign"),
    (Fault.OTHER_CERT, "another certificate"),
    (Fault.EXPIRED, "expired"),
    (Fault.FUTURE, "future"),
    (Fault.NO_NEXT_UPDATE, "no nextUpdate"),
    (Fault.TRY_LATER, "tryLater"),
    (Fault.HANG, "did not answer within"),
    (Fault.UNKNOWN, "'unknown'"),
    (Fault.OLDER, "older than the stored one"),
])
def test_hostile_response_never_replaces_good(store, setup_md, clock, http, config, rng, web, pki, mode,
                                              reason):
    pki.issue("other.example.org", OCSP_URL)
    [good] = run(store, setup_md, clock, http, config, rng)
    der, before = read(web / "www.der"), staple_state(store, MD, "p256")
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    http.mode = mode
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FAILED and reason in res.error, res.error
    assert res.status == OcspStatus.GOOD and res.this_update == good.this_update and res.errors == 1
    assert read(web / "www.der") == der == read(web / "www.pem.ocsp")
    state = staple_state(store, MD, "p256")
    assert state.response == before.response and state.response_sha256 == before.response_sha256
    assert state.last_error == res.error


def test_no_responder_is_normal(store, pki, clock, http, config, rng):
    leaf = pki.issue("no-ocsp.example.org", None)
    install_md(store, "no-ocsp.example.org", leaf)
    targets = managed_targets(store)
    [res] = run(store, targets, clock, http, config, rng)
    assert res.status == OcspStatus.NO_RESPONDER and res.action == StapleAction.SKIPPED
    assert res.error is None and res.last_error is None and res.next_retry is None
    assert res.error is None and not res.changed and http.calls == []
    json_path = store.path("ocsp", BOOK_FILE)
    mtime = os.stat(json_path).st_mtime_ns
    clock.advance(86400)
    [again] = run(store, targets, clock, http, config, rng)
    assert again.status == OcspStatus.NO_RESPONDER and http.calls == []
    assert os.stat(json_path).st_mtime_ns == mtime
    assert staple_state(store, "no-ocsp.example.org", "p256").status == OcspStatus.NO_RESPONDER


@pytest.mark.parametrize("reason, new_key", [("key_compromise", True), ("superseded", False)])
def test_revoked_is_recorded_served_and_flags_renewal(store, setup_md, clock, http, config, rng, web, pki,
                                                      leaf, reason, new_key):
    [good] = run(store, setup_md, clock, http, config, rng)
    when = clock.now().replace(microsecond=0)
    pki.revoke(leaf, reason, when)
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FETCHED and res.status == OcspStatus.REVOKED
    assert res.revocation_time == when
    assert res.revocation_reason == ("keyCompromise" if new_key else "superseded")
    assert res.renew_required and res.new_key_required is new_key
    assert "revoked" in res.last_error
    staple = ocsp.load_der_ocsp_response(read(web / "www.der"))
    assert staple.certificate_status == ocsp.OCSPCertStatus.REVOKED
    state = staple_state(store, MD, "p256")
    assert state.renew_required and state.new_key_required is new_key and state.errors == 0
    # a later 'good' does not un-revoke it
    leaf.revoked = None
    clock.advance((res.refresh_at - clock.now()).total_seconds() + 1)
    [after] = run(store, setup_md, clock, http, config, rng)
    assert after.action == StapleAction.FAILED and "reported revoked" in after.error
    assert after.status == OcspStatus.REVOKED


def test_unknown_first_is_not_stapled_and_retried(store, setup_md, clock, http, config, rng, web):
    http.mode = Fault.UNKNOWN
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.status == OcspStatus.UNKNOWN and res.action == StapleAction.FAILED
    assert "does not know" in res.error and res.errors == 1 and res.next_retry is not None
    assert not os.path.exists(web / "www.der") and res.store_file is None
    # an 'unknown' answer is stored, but it is no success (alerts on the last success must fire)
    assert staple_state(store, MD, "p256").succeeded_at is None
    http.mode = Fault.TRUTH
    clock.advance((res.next_retry - clock.now()).total_seconds() + 1)
    [ok] = run(store, setup_md, clock, http, config, rng)
    assert ok.status == OcspStatus.GOOD and os.path.exists(web / "www.der") and ok.errors == 0
    assert staple_state(store, MD, "p256").succeeded_at == clock.now().replace(microsecond=0)


def test_check_mode_plans_without_acting(store, setup_md, clock, http, config, rng, web):
    [plan] = run(store, setup_md, clock, http, config, rng, check_mode=True)
    assert plan.action == StapleAction.WOULD_FETCH and plan.changed and plan.status == OcspStatus.NONE
    assert http.calls == [] and os.listdir(store.path("ocsp")) == [] and os.listdir(web) == []
    [good] = run(store, setup_md, clock, http, config, rng)
    [plan] = run(store, setup_md, clock, http, config, rng, check_mode=True)
    assert plan.action == StapleAction.KEPT and not plan.changed
    os.unlink(web / "www.der")
    [plan] = run(store, setup_md, clock, http, config, rng, check_mode=True)
    assert plan.changed_files == [str(web / "www.der")] and not os.path.exists(web / "www.der")
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    [plan] = run(store, setup_md, clock, http, config, rng, check_mode=True)
    assert plan.action == StapleAction.WOULD_FETCH and len(http.calls) == 1


def test_outputs_rewritten_only_when_changed(store, setup_md, clock, http, config, rng, web):
    run(store, setup_md, clock, http, config, rng)
    with open(web / "www.pem.ocsp", "wb") as handle:
        handle.write(b"tampered")
    os.unlink(web / "www.der")  # e.g. removed by hand
    # a store copy made before the staple files were configured is kept in step, not dropped
    der_copy = paths_for(store, setup_md[0]).der
    os.makedirs(os.path.dirname(der_copy))
    with open(der_copy, "wb") as handle:
        handle.write(b"stale")
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.KEPT and len(http.calls) == 1 and res.store_file == der_copy
    assert sorted(res.changed_files) == sorted([der_copy, str(web / "www.der"), str(web / "www.pem.ocsp")])
    assert read(web / "www.pem.ocsp") == read(der_copy) == read(web / "www.der")


def test_renewed_certificate_is_stapled_at_once(store, setup_md, clock, http, config, rng, pki):
    [first] = run(store, setup_md, clock, http, config, rng)
    install_md(store, MD, pki.issue("www2.example.org", OCSP_URL))
    targets = managed_targets(store)
    [res] = run(store, targets, clock, http, config, rng)
    assert res.action == StapleAction.FETCHED and len(http.calls) == 2
    state = staple_state(store, MD, "p256")
    assert state.certid["serial"] == "%X" % pki.leaves[-1].cert.serial_number
    assert res.this_update >= first.this_update


def test_other_certificate_files(store, pki, clock, http, config, rng, web):
    leaf = pki.issue("other.example.net", OCSP_URL)
    target = StapleTarget(cert_path=leaf.fullchain_path, staple_file=str(web / "other.der"))
    [res] = run(store, [target], clock, http, config, rng)
    assert res.status == OcspStatus.GOOD and res.md is None and res.name == leaf.fullchain_path
    assert res.store_file is None and staple_state_of_file(store, leaf.fullchain_path).status == OcspStatus.GOOD
    assert "_others/" + target.others_id in book(store)["staples"]
    [bare] = run(store, [StapleTarget(cert_path=leaf.cert_path, issuer_path=leaf.chain_path)], clock, http,
                 config, rng)
    assert "/ocsp/_others/" in bare.store_file and bare.store_file.endswith("/response.der")
    assert ocsp.load_der_ocsp_response(read(bare.store_file)).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_responder_override_and_post(store, leaf, clock, http, rng):
    install_md(store, MD, leaf)
    targets = managed_targets(store, {MD: {"responder": "http://override.test/ocsp"}})
    config = StaplingConfig(method="post", workers=1)
    [res] = run(store, targets, clock, http, config, rng)
    assert res.responder == "http://override.test/ocsp" and http.calls == [("POST", "http://override.test/ocsp")]


def test_the_recorded_facts_count_only_for_the_very_file(store, pki, clock, http, config, rng):
    """A first fetch takes the certificate's OCSP URL from set.json (or the book) without parsing
    the file, but only while the file is the certificate recorded there (its DER's sha256): a
    file replaced behind the store's back is read for what it is."""
    install_md(store, MD, pki.issue(MD, "http://recorded.test/"))
    other = pki.issue(MD, "http://other.test/")
    with open(managed_targets(store)[0].cert_path, "wb") as handle:
        handle.write(read(other.cert_path))
    for _run in range(2):  # set.json's facts, then the book's (both of the recorded certificate)
        [res] = run(store, managed_targets(store), clock, http, config, rng)
        assert res.responder == "http://other.test/" and http.calls[-1][1].startswith("http://other.test/")
        assert res.status == OcspStatus.GOOD
        clock.advance(3 * 86400)  # the next run is due again


def test_targets_per_key_type_with_shared_and_own_options_each_set_read_once(store, pki, monkeypatch):
    """One target per key type of every readable active set: a domain's options apply to each of
    its key types, a nested dict only to its own; haproxy's .ocsp file beside each fullchain; a
    domain whose set.json does not read is left out (the others are not); each set.json is read
    once and not looked at again (it was stat()ed a second time for the set's facts)."""
    leaf = pki.issue(MD, OCSP_URL)
    install_md(store, MD, leaf, key_types=("p256", "rsa2048"))
    install_md(store, "b.example.org", pki.issue("b.example.org", OCSP_URL))
    install_md(store, "broken.example.org", pki.issue("broken.example.org", OCSP_URL))
    with open(os.path.join(store.active_dir("broken.example.org"), "set.json"), "w") as handle:
        handle.write("{not json")
    store = type(store)(store.root, store.clock)  # nothing read yet
    from mdcore.state import certset

    parsed = []
    real = certset.CertSet.from_json
    monkeypatch.setattr(certset.CertSet, "from_json", classmethod(lambda cls, doc: parsed.append(doc["md"]) or
                                                                  real(doc)))
    stats, real_stat = [], os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **kw: (stats.append(str(path)) if str(path).endswith(
        "set.json") else None) or real_stat(path, *a, **kw))
    targets = managed_targets(store, {MD: {"responder": "http://shared.test/", "rsa2048": {
        "responder": "http://rsa.test/", "staple_file": "/srv/rsa.der"}}}, haproxy_ocsp_files=True)
    assert sorted(parsed) == ["b.example.org", MD] and stats == []
    monkeypatch.undo()
    got = {t.name: t for t in targets}
    assert sorted(got) == ["b.example.org/p256", MD + "/p256", MD + "/rsa2048"]
    p256, rsa = got[MD + "/p256"], got[MD + "/rsa2048"]
    assert (p256.responder, p256.staple_file) == ("http://shared.test/", None)
    assert (rsa.responder, rsa.staple_file) == ("http://rsa.test/", "/srv/rsa.der")
    folder = os.path.join(store.active_dir(MD), "rsa2048")
    assert (rsa.cert_path, rsa.issuer_path, rsa.haproxy_ocsp_file) == (
        os.path.join(folder, "cert.pem"), os.path.join(folder, "chain.pem"), os.path.join(folder, "fullchain.pem.ocsp"))
    recorded = store.active_set(MD).certs["rsa2048"]
    assert rsa.recorded == (recorded.sha256_fingerprint, OCSP_URL) and rsa.cert_sha256 is None  # no plan vouched


def test_the_targets_carry_set_json_s_facts_to_the_plan(store, pki, clock, http, config, rng, monkeypatch):
    """managed_targets hands each target what its set.json records (sha256, OCSP URL): a first
    fetch's plan hashes the file and takes the URL from the target, without reading the set again."""
    leaf = pki.issue(MD, "http://recorded.test/")
    install_md(store, MD, leaf)
    [target] = managed_targets(store)
    recorded = store.active_set(MD).certs["p256"]
    assert target.recorded == (recorded.sha256_fingerprint, "http://recorded.test/")

    def no_lookup(md):
        raise AssertionError("the plan looked up the set of %s again" % md)

    monkeypatch.setattr(store, "active_set", no_lookup)
    [res] = run(store, [target], clock, http, config, rng)
    assert res.responder == "http://recorded.test/" and http.calls[-1][1].startswith("http://recorded.test/")
    assert res.status == OcspStatus.GOOD


def test_parallel_refresh_keeps_order(store, pki, clock, http, rng):
    leaves = [pki.issue("p%d.example.org" % i, OCSP_URL) for i in range(6)]
    targets = [StapleTarget(cert_path=x.cert_path, issuer_path=x.chain_path) for x in leaves]
    results = run(store, targets, clock, http, StaplingConfig(workers=4), rng)
    assert [r.cert_path for r in results] == [t.cert_path for t in targets]
    assert all(r.status == OcspStatus.GOOD for r in results) and len(http.calls) == 6


def test_missing_output_folder_is_reported_not_fatal(store, leaf, clock, http, config, rng, tmp_path):
    install_md(store, MD, leaf)
    targets = managed_targets(store, {MD: {"staple_file": str(tmp_path / "nope" / "x.der")}})
    [res] = run(store, targets, clock, http, config, rng)
    assert res.status == OcspStatus.GOOD and "does not exist" in res.output_errors[0]
    assert staple_state(store, MD, "p256").status == OcspStatus.GOOD  # kept in the book for the next run


def test_unreadable_certificate(store, clock, http, config, rng, tmp_path):
    [res] = run(store, [StapleTarget(cert_path=str(tmp_path / "missing.pem"))], clock, http, config, rng)
    assert res.action == StapleAction.FAILED and "cannot read certificate" in res.error
    assert res.status == OcspStatus.NONE and http.calls == []


def test_prune(store, setup_md, clock, http, config, rng, pki):
    other = pki.issue("gone.example.org", OCSP_URL)
    install_md(store, "gone.example.org", other)
    run(store, managed_targets(store), clock, http, config, rng)
    store.remove_md("gone.example.org")
    gone = store.ocsp_dir("gone.example.org")
    # still valid: never pruned, even for a domain no longer managed
    clock.advance(3 * 86400)
    run(store, setup_md, clock, http, config, rng)
    assert os.path.exists(os.path.join(gone, "p256.der"))
    clock.advance(9 * 86400)
    run(store, setup_md, clock, http, config, rng)
    assert not os.path.exists(gone)
    assert staple_state(store, MD, "p256").status == OcspStatus.GOOD


def test_haproxy_runtime_update(store, leaf, clock, http, rng, tmp_path):
    install_md(store, MD, leaf)
    fake = FakeHaproxy(str(tmp_path / "haproxy.sock"), answer=b"Unknown command\n")
    try:
        config = StaplingConfig(workers=1, haproxy_socket=fake.path)
        [res] = run(store, managed_targets(store), clock, http, config, rng)
        assert not res.haproxy_updated and "haproxy refused" in res.output_errors[0]
        fake.answer = b"OCSP Response updated!\n"
        [res] = run(store, managed_targets(store), clock, http, config, rng)  # retried though not due
        assert res.haproxy_updated and res.changed and res.action == StapleAction.KEPT
        assert fake.commands[-1] == b"set ssl ocsp-response " + base64.b64encode(read(res.store_file)) + b"\n"
        [res] = run(store, managed_targets(store), clock, http, config, rng)
        assert not res.haproxy_updated and len(fake.commands) == 2
    finally:
        fake.close()


def test_results_as_dicts(store, setup_md, clock, http, config, rng):
    [res] = run(store, setup_md, clock, http, config, rng)
    data = res.to_dict()
    assert data["status"] == "good" and data["changed"] is True
    assert data["next_update"].endswith("Z") and data["md"] == MD
    json.dumps(data)


def test_override_added_later_refetches_without_parsing_shortcut(store, leaf, clock, http, config, rng):
    install_md(store, MD, leaf)
    [first] = run(store, managed_targets(store), clock, http, config, rng)
    assert first.responder == OCSP_URL
    targets = managed_targets(store, {MD: {"responder": "http://override.test/"}})
    [res] = run(store, targets, clock, http, config, rng)
    assert res.action == StapleAction.FETCHED and res.responder == "http://override.test/"
    assert http.calls[-1][1].startswith("http://override.test/")
    # and back to the certificate's own URL (known from the store, the certificate is not re-parsed)
    [back] = run(store, managed_targets(store), clock, http, config, rng)
    assert back.action == StapleAction.FETCHED and back.responder == OCSP_URL


def test_staple_store_check_mode_creates_nothing(tmp_path, leaf, clock, http):
    from mdcore.ocsp import staple_store
    from mdcore.store import Store

    store = Store(str(tmp_path / "nostore"), clock)
    results = staple_store(store, clock, others=[{"cert": leaf.fullchain_path}], check_mode=True)
    assert [r.action for r in results] == [StapleAction.WOULD_FETCH]
    assert not os.path.exists(tmp_path / "nostore") and http.calls == []
    results = staple_store(store, clock, others=[{"cert": leaf.fullchain_path}], transport=http)
    assert [r.status for r in results] == [OcspStatus.GOOD] and os.path.isdir(tmp_path / "nostore")


def test_book_is_written_once_per_run_and_only_when_something_changed(store, pki, clock, http, config, rng,
                                                                      monkeypatch):
    from mdcore import fsutil

    for i in range(5):
        install_md(store, "b%d.example.org" % i, pki.issue("b%d.example.org" % i, OCSP_URL))
    writes = []
    real = fsutil.atomic_write
    monkeypatch.setattr("mdcore.ocsp.persist.atomic_write", lambda path, *a, **k: writes.append(path) or
                        real(path, *a, **k))
    results = run(store, managed_targets(store), clock, http, config, rng)
    assert {r.action for r in results} == {StapleAction.FETCHED}
    assert writes == [store.path("ocsp", BOOK_FILE)]
    assert sorted(book(store)["staples"]) == ["b%d.example.org/p256" % i for i in range(5)]
    clock.advance(3600)
    assert {r.action for r in run(store, managed_targets(store), clock, http, config, rng)} == {StapleAction.KEPT}
    assert len(writes) == 1  # nothing due, nothing pruned: the book stays as it is


def test_book_lines_one_certificate_each(store, setup_md, clock, http, config, rng):
    run(store, setup_md, clock, http, config, rng)
    with open(store.path("ocsp", BOOK_FILE), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == '{"version": 1, "staples": {' and lines[-1] == "}}"
    assert lines[1].startswith('"%s/p256": {' % MD)


def test_broken_book_is_set_aside_and_rebuilt(store, setup_md, clock, http, config, rng, web):
    """The book holds only responses that can be fetched again: a corrupt one is derived state."""
    from mdcore.status import build_status

    run(store, setup_md, clock, http, config, rng)
    with open(store.path("ocsp", BOOK_FILE), "w", encoding="utf-8") as handle:
        handle.write('{"version": 1, "staples": {"www.example.org/p2')
    report = build_status(store, clock)  # readers (no lock) see no staples, never an error
    assert [md.name for md in report.domains] == [MD]
    results = run(store, setup_md, clock, http, config, rng)
    assert [r.action for r in results] == [StapleAction.FETCHED] and read(web / "www.der")
    aside = [n for n in os.listdir(store.path("ocsp")) if n.startswith(BOOK_FILE + ".corrupt-")]
    assert len(aside) == 1 and "staples.json is corrupt: not JSON" in store.notes[-1]
    assert MD + "/p256" in book(store)["staples"]


@pytest.mark.parametrize("text", ['{"version": 1, "staples": [', '{"version": 9, "staples": {}}', "[]", ""])
def test_a_book_that_does_not_read_knows_no_staple_for_the_plan(store, setup_md, clock, http, config, rng, text):
    """The plan of every domain asks the book whether a certificate was found revoked: a corrupt
    book (or a newer mdfleet's) answers "no" there instead of failing every domain's plan; the
    stapling run that follows sets it aside (or refuses it) and says so."""
    from mdcore.ocsp.persist import revocation_known, staple_state

    run(store, setup_md, clock, http, config, rng)
    with open(store.path("ocsp", BOOK_FILE), "w", encoding="utf-8") as handle:
        handle.write(text)
    assert revocation_known(store, MD, "p256", None) is False
    assert staple_state(store, MD, "p256") is None


def test_book_of_a_newer_version_is_refused(store, setup_md, clock, http, config, rng):
    from mdcore.state.fields import NewerStateError

    run(store, setup_md, clock, http, config, rng)
    doc = book(store)
    doc["version"] = 2
    with open(store.path("ocsp", BOOK_FILE), "w", encoding="utf-8") as handle:
        json.dump(doc, handle)
    with pytest.raises(NewerStateError, match="staples.json has version 2; this mdfleet reads up to version 1"):
        run(store, setup_md, clock, http, config, rng)
    assert os.path.exists(store.path("ocsp", BOOK_FILE))  # refused, never set aside


def test_crash_mid_run_leaves_the_previous_book(store, pki, clock, http, config, rng):
    """Killed between two exchanges: the book on disk is the previous one, complete; the next
    run fetches what the crashed one had fetched."""
    for i in range(3):
        install_md(store, "c%d.example.org" % i, pki.issue("c%d.example.org" % i, OCSP_URL))
    first = run(store, managed_targets(store), clock, http, config, rng)
    before = read(store.path("ocsp", BOOK_FILE))
    clock.advance((first[0].refresh_at - clock.now()).total_seconds() + 1)
    real, calls = http.exchange, []

    def dying(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what SIGINT/SIGTERM handlers raise; kill -9 stops even earlier
        return real(*args, **kwargs)

    http.exchange = dying
    with pytest.raises(KeyboardInterrupt):
        run(store, managed_targets(store), clock, http, config, rng)
    assert read(store.path("ocsp", BOOK_FILE)) == before
    left = [f for _dir, _subs, files in os.walk(store.path("ocsp")) for f in files if f.startswith(".tmp-")]
    assert left == []  # no temp file left behind
    http.exchange = real
    again = run(store, managed_targets(store), clock, http, config, rng)
    assert [r.action for r in again] == [StapleAction.FETCHED] * 3
    assert all(r.this_update > f.this_update for r, f in zip(again, first, strict=True))
