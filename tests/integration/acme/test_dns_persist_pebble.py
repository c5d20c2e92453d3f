"""dns-persist-01 (draft-ietf-acme-dns-persist) against Debian sid's pebble 2.10, with the TXT
records in challtestsrv: issuance, wildcard, wrong account, missing record (pre-check, and the
CA's own refusal without it), persistUntil, and one record serving two stores of one account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mdcore.acme.account import AccountStore, ensure_account
from mdcore.acme.problems import OrderDeadError
from mdcore.clock import Clock, Deadline
from mdcore.config import md_config_from_dict
from mdcore.errors import ChallengeError
from mdcore.issuance import account_options, transport_for
from mdcore.manager import Action, ensure_md
from mdcore.persist_records import records_for
from mdcore.store import Store

from .helpers import base_doc, verify_chain

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")
ISSUER = "pebble.letsencrypt.org"  # pebble's default caaIdentities = its issuer domain names


def persist_cfg(pebble, challtestsrv, names, **extra):
    doc = base_doc(pebble, domains=names, challenge="dns-persist-01",
                   dns_persist_resolvers=[challtestsrv.dns_address], **extra)
    return md_config_from_dict(doc)


def register(store: Store, cfg) -> str:
    """The account first (as `mdfleet account ensure` or an earlier order would make it)."""
    ca = cfg.cas[0]
    clock = Clock()
    ref, _key = ensure_account(transport_for(ca, cfg, clock), AccountStore(store.path("accounts")),
                               account_options(ca, cfg), Deadline(clock, 30))
    return ref.url


def published(cfg, store, txt) -> list[dict]:
    """Publish what records_for says, as an operator would."""
    entries = records_for(store, cfg, Clock(), lambda ca: transport_for(ca, cfg, Clock()).directory(
        Deadline(Clock(), 10)))
    for entry in entries:
        assert entry["value"], entry
        txt(entry["name"], entry["value"])
    return entries


def validations(pebble, mark) -> int:
    """How many dns-persist-01 validations pebble ran since ``mark`` (one line per vantage point
    would overcount: one task line per validation)."""
    return pebble.since(mark).count("Pulled a task from the Tasks queue")


def test_missing_record_is_named_by_the_precheck_then_the_same_order_issues(pebble_persist, challtestsrv, txt,
                                                                            tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["persist.example"])
    mark = pebble_persist.mark()
    with pytest.raises(ChallengeError) as failed:
        ensure_md(store, cfg)
    message = str(failed.value)
    account_url = AccountStore(store.path("accounts")).load(pebble_persist.directory_url, None)[0].url
    want = '_validation-persist.persist.example. IN TXT "%s; accounturi=%s"' % (ISSUER, account_url)
    assert "CA was not asked to validate" in message and "no TXT record" in message, message
    assert want in message, message
    assert validations(pebble_persist, mark) == 0  # the CA never checked: no failed validation
    order_url = store.pending_order("persist.example").orders["p256"]

    entries = published(cfg, store, txt)
    assert [e["zone_line"] for e in entries] == [want]
    assert entries[0]["issuer_source"] == "challenge"  # learnt from the order's challenge object
    result = ensure_md(store, persist_cfg(pebble_persist, challtestsrv, ["persist.example"]), force=True)
    assert result.changed and result.order_urls["p256"] == order_url  # the same order, resumed
    verify_chain(pebble_persist, tmp_path, result.certificates["p256"]["cert_path"],
                 result.certificates["p256"]["chain_path"])
    assert validations(pebble_persist, mark) == 1


def test_record_known_before_any_order_and_wildcard_with_policy(pebble_persist, challtestsrv, txt, tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["*.wild.persist.example", "wild.persist.example"],
                      dns_persist_policy="wildcard", key_types=["p256", "rsa2048"])
    account_url = register(store, cfg)
    entries = published(cfg, store, txt)
    # one record for the wildcard and its base name, learnt from the directory (no order yet)
    assert len(entries) == 1 and entries[0]["issuer_source"] == "directory caaIdentities"
    assert entries[0]["value"] == "%s; accounturi=%s; policy=wildcard" % (ISSUER, account_url)
    result = ensure_md(store, cfg)
    assert result.changed and set(result.certificates) == {"p256", "rsa2048"}
    assert sorted(result.certificates["p256"]["names"]) == ["*.wild.persist.example", "wild.persist.example"]


def test_wildcard_without_policy_is_refused_by_the_ca_with_the_record(pebble_persist, challtestsrv, txt, tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["*.nopolicy.persist.example"], dns_persist_policy="wildcard",
                      dns_persist_precheck=False)
    account_url = register(store, cfg)
    txt("_validation-persist.nopolicy.persist.example", "%s; accounturi=%s" % (ISSUER, account_url))
    with pytest.raises(OrderDeadError) as failed:
        ensure_md(store, cfg)
    message = str(failed.value)
    assert "policy mismatch" in message, message  # pebble's own words
    assert "the CA expects _validation-persist.nopolicy.persist.example. IN TXT \"%s; accounturi=%s; " \
           "policy=wildcard\"" % (ISSUER, account_url) in message, message


def test_wrong_accounturi_is_refused_by_precheck_and_by_the_ca(pebble_persist, challtestsrv, txt, tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["wrongacct.persist.example"])
    account_url = register(store, cfg)
    other = account_url.rsplit("/", 1)[0] + "/999999"
    txt("_validation-persist.wrongacct.persist.example", "%s; accounturi=%s" % (ISSUER, other))
    want = '_validation-persist.wrongacct.persist.example. IN TXT "%s; accounturi=%s"' % (ISSUER, account_url)
    mark = pebble_persist.mark()
    with pytest.raises(ChallengeError) as failed:
        ensure_md(store, cfg)
    message = str(failed.value)
    assert "accounturi is %s, not this account (%s)" % (other, account_url) in message, message
    assert want in message and validations(pebble_persist, mark) == 0

    unchecked = persist_cfg(pebble_persist, challtestsrv, ["wrongacct.persist.example"], dns_persist_precheck=False)
    with pytest.raises(OrderDeadError) as refused:
        ensure_md(store, unchecked, force=True)
    message = str(refused.value)
    assert "CA refused validation of wrongacct.persist.example: unauthorized:" in message, message
    assert "accounturi mismatch" in message and "the CA expects " + want in message, message
    assert "the pre-check is off" in message
    assert validations(pebble_persist, mark) == 1


def test_persist_until_in_the_past_is_named_and_the_ca_agrees(pebble_persist, challtestsrv, txt, tmp_path):
    store = Store(str(tmp_path / "store"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["until.persist.example"], dns_persist_until="2026-01-01")
    register(store, cfg)
    published(cfg, store, txt)
    with pytest.raises(ChallengeError, match="persistUntil 2026-01-01T00:00:00Z has passed"):
        ensure_md(store, cfg)
    unchecked = persist_cfg(pebble_persist, challtestsrv, ["until.persist.example"], dns_persist_until="2026-01-01",
                            dns_persist_precheck=False)
    with pytest.raises(OrderDeadError, match="is after persistUntil"):
        ensure_md(store, unchecked, force=True)
    later = persist_cfg(pebble_persist, challtestsrv, ["until.persist.example"], dns_persist_until="2099-01-01")
    published(later, store, txt)
    assert ensure_md(store, later, force=True).changed


def test_without_dnspython_the_cas_refusal_names_the_record(pebble_persist, challtestsrv, tmp_path):
    """A host without python3-dnspython: no pre-check, and the CA's problem comes with the record."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store": str(tmp_path / "store"), "domains": [
        base_doc(pebble_persist, name="nodns", domains=["nodns.persist.example"], challenge="dns-persist-01",
                 dns_persist_resolvers=[challtestsrv.dns_address])]}))
    hide = ("import sys, runpy; sys.modules['dns'] = None; sys.argv[0] = 'mdfleet'; "
            "runpy.run_module('mdcore', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", hide, "--config", str(config), "renew", "nodns"],
                          env=dict(os.environ, PYTHONPATH=UTILS), capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "No TXT records found for DNS-PERSIST-01 challenge" in proc.stderr, proc.stderr
    assert '_validation-persist.nodns.persist.example. IN TXT "%s; accounturi=' % ISSUER in proc.stderr
    assert "no pre-check: dnspython (Debian: python3-dnspython) is not installed" in proc.stderr


def order_authorizations(pebble, store: Store, cfg, order_url: str) -> list[str]:
    """The authorization URLs of an order, asked of the CA as the store's account."""
    clock = Clock()
    transport = transport_for(cfg.cas[0], cfg, clock)
    ref, key = AccountStore(store.path("accounts")).load(pebble.directory_url, None)
    return list(transport.post_as_get(order_url, key, ref.url, Deadline(clock, 30), "order").body["authorizations"])


def test_one_record_serves_two_stores_that_share_the_account(pebble_persist, challtestsrv, txt, tmp_path):
    first, second = Store(str(tmp_path / "web1")), Store(str(tmp_path / "web2"))
    cfg = persist_cfg(pebble_persist, challtestsrv, ["shared.persist.example"])
    register(first, cfg)
    entries = published(cfg, first, txt)
    one = ensure_md(first, cfg)
    shutil.copytree(first.path("accounts"), second.path("accounts"))  # the fleet's one account
    assert [e["zone_line"] for e in records_for(second, cfg, Clock(), None)] == [None]  # issuer not known offline
    again = records_for(second, cfg, Clock(), lambda ca: transport_for(ca, cfg, Clock()).directory(
        Deadline(Clock(), 10)))
    assert [e["zone_line"] for e in again] == [e["zone_line"] for e in entries]
    mark = pebble_persist.mark()
    two = ensure_md(second, persist_cfg(pebble_persist, challtestsrv, ["shared.persist.example"]))
    assert two.changed and two.action == Action.ORDER
    # pebble reuses a valid authorization 1 time in 100 even with PEBBLE_AUTHZREUSE=0 (wfe.go: reuse unless
    # rand.Intn(100) > percent): then the CA ran no validation, and the order must show the reused authz
    reused = set(order_authorizations(pebble_persist, second, cfg, two.order_urls["p256"])) & set(
        order_authorizations(pebble_persist, first, cfg, one.order_urls["p256"]))
    assert validations(pebble_persist, mark) == (0 if reused else 1)  # else validated again, same record
    assert two.certificates["p256"]["serial"] != one.certificates["p256"]["serial"]
