"""Real certificates from Debian's pebble: every challenge path, key types, EAB, renewal, resume."""

from __future__ import annotations

import datetime
import os
import socket
import stat
import subprocess

import pytest

from mdcore.clock import Clock, FakeClock
from mdcore.config import md_config_from_dict
from mdcore.errors import ChallengeError
from mdcore.manager import Action, Reason, ensure_md
from mdcore.store import Store

from .helpers import base_doc, dns_cfg, standalone_cfg, tls_alpn_cfg, verify_chain, webroot_cfg


def test_http01_webroot_served_by_real_nginx(pebble, nginx_challenges, tmp_path):
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    result = ensure_md(store, webroot_cfg(pebble, ["www.web.example", "web.example"]))
    assert result.action == Action.ORDER and result.changed
    cert = result.certificates["p256"]
    assert sorted(cert["names"]) == ["web.example", "www.web.example"]
    verify_chain(pebble, tmp_path, cert["cert_path"], cert["chain_path"])
    assert os.listdir(tmp_path / "store-challenges") == []  # tokens cleaned up
    # nginx really served the tokens: its access log has the validation requests
    assert "/.well-known/acme-challenge/" in nginx_challenges.access_log.read_text()


def test_second_run_contacts_no_ca_and_keeps_set(pebble_standalone, tmp_path, monkeypatch):
    from mdcore.net.client import HttpClient

    store = Store(str(tmp_path / "store"))
    first = ensure_md(store, standalone_cfg(pebble_standalone, ["idem.example"]))

    def no_network(*_args, **_kwargs):
        raise AssertionError("a run with nothing to do contacted the CA")

    monkeypatch.setattr(HttpClient, "exchange", no_network)
    second = ensure_md(store, standalone_cfg(pebble_standalone, ["idem.example"]))
    assert second.action == Action.NONE and not second.changed
    assert second.certificates["p256"]["serial"] == first.certificates["p256"]["serial"]


def test_standalone_two_key_types_and_file_modes(pebble_standalone, tmp_path):
    store = Store(str(tmp_path / "store"))
    result = ensure_md(store, standalone_cfg(pebble_standalone, ["two.example"], key_types=["p256", "rsa2048"]))
    assert set(result.certificates) == {"p256", "rsa2048"}
    assert result.certificates["p256"]["serial"] != result.certificates["rsa2048"]["serial"]
    for kt, cert in result.certificates.items():
        verify_chain(pebble_standalone, tmp_path, cert["cert_path"], cert["chain_path"])
        key_mode = stat.S_IMODE(os.stat(cert["key_path"]).st_mode)
        dir_mode = stat.S_IMODE(os.stat(os.path.dirname(cert["key_path"])).st_mode)
        assert (key_mode, dir_mode) == (0o600, 0o700), kt
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    out = os.popen("openssl pkey -in %s -noout -text_pub" % result.certificates["rsa2048"]["key_path"]).read()
    assert "2048 bit" in out


def test_dns01_wildcard_through_hook(pebble, challtestsrv, tmp_path):
    store = Store(str(tmp_path / "store"))
    result = ensure_md(store, dns_cfg(pebble, challtestsrv, ["*.wild.example", "wild.example"]))
    cert = result.certificates["p256"]
    assert sorted(cert["names"]) == ["*.wild.example", "wild.example"]
    verify_chain(pebble, tmp_path, cert["cert_path"], cert["chain_path"])


def test_dns01_failing_hook_is_clear_and_store_untouched(pebble, challtestsrv, tmp_path):
    store = Store(str(tmp_path / "store"))
    with pytest.raises(ChallengeError, match="failed with exit code 3: hook refuses"):
        ensure_md(store, dns_cfg(pebble, challtestsrv, ["hookfail.example"], mode="fail"))
    assert store.active_set("hookfail.example") is None
    assert os.listdir(store.path("domains")) == []
    job = store.job_path("hookfail.example")
    assert '"errors": 1' in open(job).read()


def test_eab_account(pebble_eab, nginx_challenges, tmp_path):
    kid, hmac_key = next(iter(pebble_eab.eab_keys.items()))
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    cfg = md_config_from_dict(base_doc(pebble_eab, domains=["eab.example"], eab_kid=kid, eab_hmac_key=hmac_key))
    result = ensure_md(store, cfg)
    assert result.certificates["p256"]["serial"]
    accounts = os.listdir(store.path("accounts"))
    assert len(accounts) == 1
    # the HMAC key is a secret: it is nowhere in the store
    for folder, _dirs, files in os.walk(store.root):
        for name in files:
            assert hmac_key.encode() not in open(os.path.join(folder, name), "rb").read()


def test_eab_missing_is_a_clear_error(pebble_eab, tmp_path):
    from mdcore.errors import MdError

    store = Store(str(tmp_path / "store"))
    with pytest.raises(MdError, match="External Account Binding"):
        ensure_md(store, md_config_from_dict(base_doc(pebble_eab, domains=["noeab.example"])))


def test_renewal_in_window_archives_previous_set(pebble_standalone, tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = standalone_cfg(pebble_standalone, ["renew.example"])
    first = ensure_md(store, cfg, Clock())
    not_after = datetime.datetime.strptime(first.certificates["p256"]["not_after"], "%Y-%m-%dT%H:%M:%SZ")
    later = FakeClock(not_after.replace(tzinfo=datetime.timezone.utc) - datetime.timedelta(days=30))
    renewed = ensure_md(store, standalone_cfg(pebble_standalone, ["renew.example"]), later)
    assert Reason.RENEW_WINDOW in renewed.reasons and renewed.changed
    assert renewed.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]
    assert sorted(os.listdir(store.path("archive"))) == ["renew.example.1", "renew.example.2"]
    assert os.readlink(store.active_dir("renew.example")).endswith("renew.example.2")


def test_names_change_triggers_order_and_check_mode_plans_only(pebble_standalone, tmp_path):
    store = Store(str(tmp_path / "store"))
    ensure_md(store, standalone_cfg(pebble_standalone, ["grow.example"], name="grow"))
    bigger = standalone_cfg(pebble_standalone, ["grow.example", "www.grow.example"], name="grow")
    planned = ensure_md(store, bigger, check_mode=True)
    assert planned.changed and planned.reasons == [Reason.NAMES_CHANGED]
    assert sorted(store.active_set("grow").names) == ["grow.example"]
    done = ensure_md(store, bigger)
    assert sorted(done.certificates["p256"]["names"]) == ["grow.example", "www.grow.example"]


def test_interrupted_order_is_resumed_not_duplicated(pebble, challtestsrv, tmp_path):
    marker = tmp_path / "fail-now"
    marker.write_text("x")
    store = Store(str(tmp_path / "store"))
    with pytest.raises(ChallengeError):
        ensure_md(store, dns_cfg(pebble, challtestsrv, ["resume.example"], mode="fail-if:%s" % marker))
    remembered = store.pending_order("resume.example").orders["p256"]
    marker.unlink()
    result = ensure_md(store, dns_cfg(pebble, challtestsrv, ["resume.example"], mode="fail-if:%s" % marker),
                       force=True)
    assert result.order_urls["p256"] == remembered
    assert store.pending_order("resume.example") is None


def test_preferred_chain_picks_the_alternate_root(pebble_factory, tmp_path):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from mdcore.certs import split_pem_chain

    alt = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    alt_root = x509.load_pem_x509_certificate(alt.root_pem(1).encode())
    alt_cn = alt_root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    store = Store(str(tmp_path / "store"))
    cert = ensure_md(store, standalone_cfg(alt, ["alt.example"], preferred_chain=alt_cn)).certificates["p256"]
    top = split_pem_chain(open(cert["chain_path"], "rb").read())[-1]
    assert top.issuer == alt_root.subject
    root_file = tmp_path / "alt-root.pem"
    root_file.write_text(alt.root_pem(1))
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(root_file), "-untrusted", cert["chain_path"],
                           cert["cert_path"]], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_nonce_rejections_are_retried(pebble_factory, tmp_path):
    flaky = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "40"})
    store = Store(str(tmp_path / "store"))
    result = ensure_md(store, standalone_cfg(flaky, ["nonce.example"], key_types=["p256", "p384"]))
    assert set(result.certificates) == {"p256", "p384"}


def test_account_key_rollover_keeps_the_account(pebble_standalone, tmp_path):
    from mdcore.acme.account import AccountStore
    from mdcore.issuance import rollover_account

    store = Store(str(tmp_path / "store")).setup()
    cfg = standalone_cfg(pebble_standalone, ["roll.example"])
    ensure_md(store, cfg)
    accounts = AccountStore(store.path("accounts"))
    ref, old_key = accounts.load(pebble_standalone.directory_url, None)
    new_thumb = rollover_account(store, cfg, Clock())
    ref2, new_key = accounts.load(pebble_standalone.directory_url, None)
    assert ref2.url == ref.url and new_key.thumbprint() == new_thumb != old_key.thumbprint()
    # the CA accepts the new key for the same account: a forced renewal works
    assert ensure_md(store, standalone_cfg(pebble_standalone, ["roll.example"]), force=True).changed


def test_ip_address_identifier_with_real_pebble(pebble_standalone, tmp_path):
    """RFC 8738: an IP identifier, validated over http-01 at that very address (loopback here)."""
    store = Store(str(tmp_path / "store"))
    result = ensure_md(store, standalone_cfg(pebble_standalone, ["127.0.0.1"], name="loopback-ip"))
    cert = result.certificates["p256"]
    assert cert["names"] == ["127.0.0.1"]
    verify_chain(pebble_standalone, tmp_path, cert["cert_path"], cert["chain_path"])
    text = subprocess.run(["openssl", "x509", "-in", cert["cert_path"], "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    assert "IP Address:127.0.0.1" in text and "DNS:" not in text


def test_tls_alpn01_for_names_and_an_ip_address(pebble_standalone, tmp_path):
    """RFC 8737 with pebble's validator (SNI, ALPN acme-tls/1, the acmeIdentifier extension), two
    names and an IP address (RFC 8738: reverse-DNS SNI) in one order, two key types."""
    store = Store(str(tmp_path / "store"))
    result = ensure_md(store, tls_alpn_cfg(pebble_standalone, ["alpn.example", "www.alpn.example", "127.0.0.1"],
                                           key_types=["p256", "rsa2048"]))
    assert result.action == Action.ORDER and set(result.certificates) == {"p256", "rsa2048"}
    for cert in result.certificates.values():
        assert sorted(cert["names"]) == ["127.0.0.1", "alpn.example", "www.alpn.example"]
        verify_chain(pebble_standalone, tmp_path, cert["cert_path"], cert["chain_path"])
    with socket.socket() as probe:  # the listener is gone after the order: the port is free again
        probe.bind(("127.0.0.1", pebble_standalone.tls_port))
