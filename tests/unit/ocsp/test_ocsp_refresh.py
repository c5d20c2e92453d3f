"""The stapling facade with a fake responder and a FakeClock: refresh timing, backoff, outages,
hostile responses, persistence, outputs, check mode, revocation, no-responder, pruning."""

from __future__ import annotations

import base64
import datetime
import json
import os
import socket
import threading

import pytest
from cryptography.x509 import ocsp

from mdcore.events import EventName
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
from mdcore.ocsp.persist import paths_for
from peers.ocsp_fault_responder import Fault
from peers.ocsp_pki import install_md

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


def test_first_fetch_persists_and_writes_outputs(store, setup_md, clock, http, config, rng, web, leaf):
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FETCHED and res.status == OcspStatus.GOOD
    assert res.error is None and res.last_error is None and res.changed
    assert res.responder == OCSP_URL and res.event == EventName.OCSP_RENEWED
    assert len(http.calls) == 1 and http.calls[0][0] == "GET"
    der = read(res.store_file)
    assert res.store_file == os.path.join(store.ocsp_dir(MD), "p256.der")
    assert read(web / "www.der") == der == read(web / "www.pem.ocsp")
    assert set(res.changed_files) == {res.store_file, str(web / "www.der"), str(web / "www.pem.ocsp")}
    assert ocsp.load_der_ocsp_response(der).certificate_status == ocsp.OCSPCertStatus.GOOD
    # lifetime 4 days, window 33%: refresh 1.32 days before nextUpdate
    assert res.refresh_at == res.next_update - 4 * D * 0.33
    assert res.fetched_at == clock.now()
    with open(os.path.join(store.ocsp_dir(MD), "p256.json")) as handle:
        meta = json.load(handle)
    assert meta["status"] == "good" and meta["version"] == 1 and meta["errors"] == 0
    assert meta["certid"]["hash"] == "sha1" and meta["certid"]["serial"] == "%X" % leaf.cert.serial_number
    assert base64.b64decode(meta["response"]) == der
    for key in ("this_update", "next_update", "fetched_at", "refresh_at", "responder", "cert_sha256",
                "last_error", "next_retry", "renew_required", "new_key_required", "revocation_time"):
        assert key in meta
    state = staple_state(store, MD, "p256")
    assert state.status == OcspStatus.GOOD and state.next_update == res.next_update
    assert (os.stat(res.store_file).st_mode & 0o777) == 0o644


def test_nothing_due_asks_nobody_and_changes_nothing(store, setup_md, clock, http, config, rng, web):
    run(store, setup_md, clock, http, config, rng)
    mtime = os.stat(web / "www.der").st_mtime_ns
    clock.advance(3600)
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.KEPT and not res.changed and res.event is None
    assert len(http.calls) == 1
    assert os.stat(web / "www.der").st_mtime_ns == mtime


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


def test_outage_keeps_serving_backs_off_and_recovers(store, setup_md, clock, http, config, rng, web):
    [good] = run(store, setup_md, clock, http, config, rng)
    der = read(web / "www.der")
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    http.error = "responder ocsp.test unreachable: connection refused"
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FAILED and res.status == OcspStatus.GOOD
    assert res.error == res.last_error == http.error and res.errors == 1
    assert res.event == EventName.OCSP_ERRORED and not res.changed
    sec = datetime.timedelta(seconds=1)
    assert clock.now() + 15 * sec <= res.next_retry <= clock.now() + 45 * sec
    assert read(web / "www.der") == der == read(res.store_file)
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
    der, meta = read(web / "www.der"), read(paths_for(store, setup_md[0]).json)
    clock.advance((good.refresh_at - clock.now()).total_seconds() + 1)
    http.mode = mode
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.FAILED and reason in res.error, res.error
    assert res.status == OcspStatus.GOOD and res.this_update == good.this_update and res.errors == 1
    assert read(web / "www.der") == der == read(res.store_file) == read(web / "www.pem.ocsp")
    state = staple_state(store, MD, "p256")
    assert state.response_sha256 == json.loads(meta)["response_sha256"]
    assert state.last_error == res.error


def test_no_responder_is_normal(store, pki, clock, http, config, rng):
    leaf = pki.issue("no-ocsp.example.org", None)
    install_md(store, "no-ocsp.example.org", leaf)
    targets = managed_targets(store)
    [res] = run(store, targets, clock, http, config, rng)
    assert res.status == OcspStatus.NO_RESPONDER and res.action == StapleAction.SKIPPED
    assert res.error is None and res.last_error is None and res.next_retry is None
    assert res.event is None and not res.changed and http.calls == []
    json_path = paths_for(store, targets[0]).json
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
    assert "revoked" in res.last_error and res.event == EventName.OCSP_ERRORED
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
    assert not os.path.exists(web / "www.der") and not os.path.exists(res.store_file)
    http.mode = Fault.TRUTH
    clock.advance((res.next_retry - clock.now()).total_seconds() + 1)
    [ok] = run(store, setup_md, clock, http, config, rng)
    assert ok.status == OcspStatus.GOOD and os.path.exists(web / "www.der") and ok.errors == 0


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
    [first] = run(store, setup_md, clock, http, config, rng)
    with open(web / "www.pem.ocsp", "wb") as handle:
        handle.write(b"tampered")
    os.unlink(first.store_file)  # e.g. a crash between the JSON and the .der write
    [res] = run(store, setup_md, clock, http, config, rng)
    assert res.action == StapleAction.KEPT and len(http.calls) == 1
    assert sorted(res.changed_files) == sorted([first.store_file, str(web / "www.pem.ocsp")])
    assert read(web / "www.pem.ocsp") == read(first.store_file) == read(web / "www.der")


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
    assert "/ocsp/_others/" in res.store_file and res.store_file.endswith("/response.der")
    assert staple_state_of_file(store, leaf.fullchain_path).status == OcspStatus.GOOD
    assert read(web / "other.der") == read(res.store_file)


def test_responder_override_and_post(store, leaf, clock, http, rng):
    install_md(store, MD, leaf)
    targets = managed_targets(store, {MD: {"responder": "http://override.test/ocsp"}})
    config = StaplingConfig(method="post", workers=1)
    [res] = run(store, targets, clock, http, config, rng)
    assert res.responder == "http://override.test/ocsp" and http.calls == [("POST", "http://override.test/ocsp")]


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
    assert os.path.exists(res.store_file)


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


class FakeHaproxy:
    """A unix socket that answers like haproxy's runtime API."""

    def __init__(self, path, answer=b"OCSP Response updated!\n"):
        self.path, self.answer, self.commands = path, answer, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(5)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.commands.append(data)
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()


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


def test_prune_runs_at_most_hourly(store, setup_md, clock, http, config, rng, monkeypatch):
    from mdcore.ocsp import persist

    calls = []
    real = persist.prune
    monkeypatch.setattr(persist, "prune", lambda *a: calls.append(a) or real(*a))
    run(store, setup_md, clock, http, config, rng)
    clock.advance(600)
    run(store, setup_md, clock, http, config, rng)
    assert len(calls) == 1
    clock.advance(3600)
    run(store, setup_md, clock, http, config, rng)
    assert len(calls) == 2
