"""ARI (RFC 9773) and ACME profiles against Debian sid's pebble 2.10."""

from __future__ import annotations

import datetime

from mdcore.clock import FakeClock, from_iso
from mdcore.manager import Action, Reason, ensure_md
from mdcore.store import Store

from .helpers import verify_chain, webroot_cfg


def test_shortlived_profile_and_ari_driven_renewal_with_replaces(pebble_ari, nginx_challenges, tmp_path):
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    cfg = webroot_cfg(pebble_ari, ["ari.example"], profile="shortlived")
    first = ensure_md(store, cfg)
    cert = first.certificates["p256"]
    lifetime = from_iso(cert["not_after"]) - from_iso(cert["not_before"])
    assert datetime.timedelta(days=5) < lifetime <= datetime.timedelta(days=6, seconds=1)
    verify_chain(pebble_ari, tmp_path, cert["cert_path"], cert["chain_path"])

    # Two hours later the first ARI check is due: the CA's window is fetched and a time picked in it.
    clock = FakeClock(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2))
    planned = ensure_md(store, webroot_cfg(pebble_ari, ["ari.example"], profile="shortlived"), clock)
    assert planned.action == Action.NONE
    state = store.read_job("ari.example").ari["p256"]
    assert state.supported and state.window_start and state.window_end and state.next_check
    chosen = state.chosen
    assert chosen is not None and state.window_start <= chosen <= state.window_end
    assert from_iso(planned.renew_at) <= chosen
    # the status views say the same as the plan
    from mdcore.status import build_status

    view = build_status(store, clock).get("ari.example")
    assert view is not None and view.renew_at == from_iso(planned.renew_at)

    # Past the picked time the renewal happens, sending "replaces" (pebble 2.10 checks it).
    clock.advance((chosen - clock.now()).total_seconds() + 60)
    renewed = ensure_md(store, webroot_cfg(pebble_ari, ["ari.example"], profile="shortlived"), clock)
    assert renewed.changed and renewed.reasons == [Reason.ARI]
    assert renewed.certificates["p256"]["serial"] != cert["serial"]
    log = store.read_job("ari.example").log
    assert any(entry.kind == "ari" and "suggests" in entry.detail for entry in log)


def test_ari_unsupported_ca_falls_back_to_window(pebble, nginx_challenges, tmp_path):
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    ensure_md(store, webroot_cfg(pebble, ["noari.example"]))
    clock = FakeClock(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2))
    result = ensure_md(store, webroot_cfg(pebble, ["noari.example"]), clock)
    state = store.read_job("noari.example").ari["p256"]
    assert state.supported is False and result.action == Action.NONE
    assert state.next_check is not None and state.next_check > clock.now() + datetime.timedelta(days=6)


def test_renewal_order_names_the_certificate_it_replaces(pebble_ari, nginx_challenges, tmp_path):
    import requests

    from mdcore.acme.account import AccountStore
    from mdcore.acme.jws import sign_request

    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    first = ensure_md(store, webroot_cfg(pebble_ari, ["repl.example"]))
    clock = FakeClock(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2))
    ensure_md(store, webroot_cfg(pebble_ari, ["repl.example"]), clock)  # learns that the CA has ARI
    renewed = ensure_md(store, webroot_cfg(pebble_ari, ["repl.example"]), clock, force=True)
    ref, key = AccountStore(store.path("accounts")).load(pebble_ari.directory_url, None)
    new_nonce = pebble_ari.get(pebble_ari.directory_url).json()["newNonce"]
    url = renewed.order_urls["p256"]
    for _attempt in range(5):  # pebble rejects 5% of good nonces: retried as RFC 8555 6.5 says
        nonce = requests.head(new_nonce, verify=pebble_ari.ca_bundle, timeout=5).headers["Replay-Nonce"]
        order = requests.post(url, json=sign_request(key, url, None, nonce, ref.url),
                              headers={"Content-Type": "application/jose+json"},
                              verify=pebble_ari.ca_bundle, timeout=5).json()
        if order.get("type") != "urn:ietf:params:acme:error:badNonce":
            break
    assert order.get("replaces") == first.certificates["p256"]["ari_cert_id"], order
