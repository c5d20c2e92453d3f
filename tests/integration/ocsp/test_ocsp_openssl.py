"""Stapling against a real `openssl ocsp` responder (in a private network namespace): good, revoked,
unknown, delegated responder, outage with backoff and recovery, restart from the store."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys

import pytest

from mdcore.clock import Clock
from mdcore.ocsp import (
    OcspStatus,
    StapleAction,
    managed_targets,
    refresh_staples,
    staple_state,
    staple_state_of_file,
)
from mdcore.store import Store
from peers.ocsp_pki import install_md
from peers.ocsp_responder import OpensslOcspResponder

from .util import cert_status, read, requests_seen, this_update

DEBIAN_PY = "/usr/bin/python3"
STAPLE_ONCE = os.path.join(os.path.dirname(__file__), "staple_once.py")
SECOND = datetime.timedelta(seconds=1)


def openssl_verifies(der_path: str, pki, leaf) -> str:
    """Independent check of a stored response with `openssl ocsp -respin` (status line)."""
    proc = subprocess.run(["openssl", "ocsp", "-respin", der_path, "-issuer", pki.ca_path,
                           "-cert", leaf.cert_path, "-CAfile", pki.ca_path],
                          capture_output=True, text=True, timeout=20, check=False)
    assert "Response verify OK" in proc.stderr + proc.stdout, proc.stderr
    return proc.stdout


@pytest.fixture
def store(tmp_path):
    return Store(str(tmp_path / "store"), Clock()).setup()


def test_good_revoked_unknown(store, pki, responder, web):
    good = pki.issue("good.test", responder.url)
    revoked = pki.issue("revoked.test", responder.url)
    unknown = pki.issue("unknown.test", responder.url, listed=False)
    pki.revoke(revoked, "key_compromise")
    responder.start()
    for leaf in (good, revoked, unknown):
        install_md(store, leaf.name, leaf)
    overrides = {x.name: {"staple_file": str(web / (x.name + ".der"))} for x in (good, revoked, unknown)}
    results = {r.md: r for r in refresh_staples(store, managed_targets(store, overrides), Clock())}

    ok = results["good.test"]
    assert (ok.action, ok.status, ok.error) == (StapleAction.FETCHED, OcspStatus.GOOD, None)
    assert ok.store_file is None  # it has a staple file of its own: no copy in the store
    assert ": good" in openssl_verifies(str(web / "good.test.der"), pki, good)
    assert ok.next_update - ok.this_update == datetime.timedelta(minutes=60)

    rev = results["revoked.test"]
    assert rev.status == OcspStatus.REVOKED and rev.revocation_reason == "keyCompromise"
    assert rev.renew_required and rev.new_key_required and "revoked" in rev.last_error
    assert ": revoked" in openssl_verifies(str(web / "revoked.test.der"), pki, revoked)
    assert staple_state(store, "revoked.test", "p256").new_key_required

    unk = results["unknown.test"]
    assert unk.status == OcspStatus.UNKNOWN and unk.action == StapleAction.FAILED
    assert "does not know" in unk.error and unk.next_retry is not None
    assert not os.path.exists(web / "unknown.test.der")


def test_revocation_after_good_is_picked_up(store, pki, responder, web):
    leaf = pki.issue("later.test", responder.url)
    responder.start()
    install_md(store, leaf.name, leaf)
    targets = managed_targets(store, {leaf.name: {"staple_file": str(web / "later.der")}})
    [first] = refresh_staples(store, targets, Clock())
    assert first.status == OcspStatus.GOOD
    pki.revoke(leaf, "superseded")
    responder.update_index()
    [second] = refresh_staples(store, targets, Clock(), now=first.refresh_at + SECOND)
    assert second.status == OcspStatus.REVOKED and second.revocation_reason == "superseded"
    assert second.renew_required and not second.new_key_required
    assert cert_status(read(web / "later.der")) == "revoked"


def test_delegated_responder_certificate(store, pki, netns, tmp_path):
    cert, key, cert_path, key_path = pki.issue_responder("OCSP Signer")
    responder = OpensslOcspResponder(tmp_path / "delegated", pki, signer=(cert_path, key_path))
    leaf = pki.issue("delegated.test", responder.url)
    with responder:
        install_md(store, leaf.name, leaf)
        [res] = refresh_staples(store, managed_targets(store), Clock())
    assert res.status == OcspStatus.GOOD and res.error is None
    assert staple_state(store, leaf.name, "p256").responder_id == "CN=OCSP Signer"


def test_responder_certificate_without_ocsp_signing_is_rejected(store, pki, netns, tmp_path):
    cert_path, key_path = pki.issue_responder("Not A Signer", ocsp_signing=False)[2:]
    responder = OpensslOcspResponder(tmp_path / "nosigner", pki, signer=(cert_path, key_path))
    leaf = pki.issue("nosigner.test", responder.url)
    with responder:
        install_md(store, leaf.name, leaf)
        [res] = refresh_staples(store, managed_targets(store), Clock())
    assert res.action == StapleAction.FAILED and "without id-kp-OCSPSigning" in res.error
    assert res.status == OcspStatus.NONE


def test_outage_served_until_next_update_then_recovered(store, pki, responder, web):
    leaf = pki.issue("outage.test", responder.url)
    responder.start()
    install_md(store, leaf.name, leaf)
    staple = web / "outage.der"
    targets = managed_targets(store, {leaf.name: {"staple_file": str(staple)}})
    clock = Clock()
    [good] = refresh_staples(store, targets, clock)
    served = read(staple)
    responder.stop()

    # responder down inside the refresh window: error, backoff, the stored response stays served
    now = good.refresh_at + SECOND
    [fail] = refresh_staples(store, targets, clock, now=now)
    assert fail.action == StapleAction.FAILED and fail.status == OcspStatus.GOOD
    assert "unreachable" in fail.error and fail.errors == 1
    assert now + 15 * SECOND <= fail.next_retry <= now + 45 * SECOND
    assert read(staple) == served
    [wait] = refresh_staples(store, targets, clock, now=now + SECOND)
    assert wait.action == StapleAction.BACKOFF and wait.errors == 1
    [fail2] = refresh_staples(store, targets, clock, now=fail.next_retry + SECOND)
    assert fail2.action == StapleAction.FAILED and fail2.errors == 2 and fail2.next_retry > fail.next_retry
    assert read(staple) == served

    # right before nextUpdate it is still served; after it, reported expired (files stay in place)
    late = good.next_update - SECOND
    [still] = refresh_staples(store, targets, clock, now=late)
    assert still.status == OcspStatus.GOOD and read(staple) == served
    [expired] = refresh_staples(store, targets, clock, now=good.next_update + SECOND)
    assert expired.status == OcspStatus.EXPIRED and expired.last_error and os.path.exists(staple)

    # the responder is back (with longer-lived responses): refreshed at the next retry
    responder.nmin = 24 * 60
    responder.start()
    retry_at = staple_state(store, leaf.name, "p256").next_retry + SECOND
    [back] = refresh_staples(store, targets, clock, now=retry_at)
    assert back.action == StapleAction.FETCHED and back.status == OcspStatus.GOOD
    assert back.errors == 0 and back.last_error is None
    assert read(staple) != served and this_update(read(staple)) >= good.this_update


@pytest.mark.parametrize("python", [sys.executable, DEBIAN_PY])
def test_restart_serves_persisted_response_without_responder(store, pki, responder, web, python):
    if not os.path.exists(python):
        pytest.skip("%s missing" % python)
    leaf = pki.issue("restart.test", responder.url)
    responder.start()
    staple = web / "restart.der"
    other = {"cert": leaf.fullchain_path, "staple_file": str(staple)}
    args = {"store": store.root, "managed": False, "others": [other]}

    def new_process():
        proc = subprocess.run([python, STAPLE_ONCE, json.dumps(args)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)[0]

    first = new_process()
    assert first["action"] == "fetched" and first["status"] == "good"
    seen = requests_seen(responder)
    again = new_process()
    assert again["action"] == "kept" and again["status"] == "good" and not again["changed"]
    assert requests_seen(responder) == seen  # not contacted
    # even with the responder gone and the staple file lost, a new process serves the stored one
    responder.stop()
    os.unlink(staple)
    third = new_process()
    assert third["action"] == "kept" and third["changed_files"] == [str(staple)]
    assert third["store_file"] is None and cert_status(read(staple)) == "good"
    assert staple_state_of_file(store, leaf.fullchain_path).response_sha256 == hashlib.sha256(read(staple)).hexdigest()


def test_a_big_run_verifies_a_share_in_a_forked_helper(store, pki, responder, web, monkeypatch):
    """The default (processes None, the run's own HTTP client): from HELPER_MIN_DUE due staples a
    helper is forked; every staple is stored by the run and verifies with openssl."""
    from mdcore import forked
    from mdcore.ocsp import split

    started = []
    real_start = forked.Helper.start

    def counted(work, clock):
        helper = real_start(work, clock)
        started.append(helper.pid)
        return helper

    monkeypatch.setattr(split, "HELPER_MIN_DUE", 8)
    monkeypatch.setattr(forked.Helper, "start", counted)
    leaves = [pki.issue("s%02d.test" % i, responder.url) for i in range(12)]
    responder.start()
    for leaf in leaves:
        install_md(store, leaf.name, leaf)
    overrides = {x.name: {"staple_file": str(web / (x.name + ".der"))} for x in leaves}
    results = refresh_staples(store, managed_targets(store, overrides), Clock())
    assert len(started) == (1 if (os.cpu_count() or 1) > 1 else 0)
    assert [(r.action, r.status, r.error) for r in results] == [(StapleAction.FETCHED, OcspStatus.GOOD, None)] * 12
    for leaf in (leaves[0], leaves[-1]):  # one of the run's share, one of the helper's
        assert ": good" in openssl_verifies(str(web / (leaf.name + ".der")), pki, leaf)
    assert all(staple_state(store, leaf.name, "p256").status == OcspStatus.GOOD for leaf in leaves)
