"""`mdfleet dns-persist-record` as a real process against pebble 2.10: the record before the
account exists, after it, --check against challtestsrv, JSON, and a second host of one account."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys

from peers.fleet import pebble_counts
from peers.pebble import SID_PEBBLE
from peers.require import need

from .test_mdfleet_cli import UTILS, mdfleet, write_config

ISSUER = "pebble.letsencrypt.org"


def persist_config(pebble, challtestsrv, tmp_path, store: str = "store") -> dict:
    """Two domains: "shop" (dns-persist-01, a wildcard and its base name) and "plain" (http-01)."""
    return {
        "store": str(tmp_path / store),
        "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                     "challenge": "dns-persist-01", "dns_persist_resolvers": [challtestsrv.dns_address]},
        "domains": [{"name": "shop", "domains": ["*.shop.cli.example", "shop.cli.example"],
                     "dns_persist_policy": "wildcard", "dns_persist_until": "2099-01-01"},
                    {"name": "plain", "domains": ["plain.cli.example"], "challenge": "http-01"}],
    }


def test_record_then_publish_then_issue(pebble_persist, challtestsrv, txt, tmp_path):
    config = write_config(tmp_path, persist_config(pebble_persist, challtestsrv, tmp_path))
    before = mdfleet(config, "dns-persist-record")
    assert before.returncode == 1  # the account does not exist yet: no value to publish
    assert "; shop via %s, for *.shop.cli.example, shop.cli.example" % pebble_persist.directory_url in before.stdout
    assert "; not yet: no ACME account for %s" % pebble_persist.directory_url in before.stdout

    first = mdfleet(config, "renew", "shop")  # registers, orders, and the pre-check names the record
    assert first.returncode == 1 and "CA was not asked to validate" in first.stderr, first.stderr
    shown = mdfleet(config, "dns-persist-record", "--json")
    assert shown.returncode == 0, shown.stderr
    [entry] = json.loads(shown.stdout)  # only dns-persist-01 domains unless named
    account = entry["account_uri"]
    assert entry["value"] == "%s; accounturi=%s; policy=wildcard; persistUntil=4070908800" % (ISSUER, account)
    assert entry["zone_line"] in first.stderr  # the record the failed run named, exactly
    assert entry["name"] == "_validation-persist.shop.cli.example" and entry["issuer_source"] == "challenge"

    unchecked = mdfleet(config, "dns-persist-record", "--check")
    assert unchecked.returncode == 1 and "; in DNS: NO - no TXT record" in unchecked.stdout
    txt(entry["name"], entry["value"])
    checked = mdfleet(config, "dns-persist-record", "shop", "--check", "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)[0]["published"] is True

    issued = mdfleet(config, "renew", "--force", "shop")
    assert issued.returncode == 0, issued.stderr

    # a second host with the same account copied in: the same record, learnt from the directory
    (tmp_path / "other").mkdir()
    other = write_config(tmp_path / "other", persist_config(pebble_persist, challtestsrv, tmp_path, store="store2"))
    shutil.copytree(tmp_path / "store" / "accounts", tmp_path / "store2" / "accounts")
    again = mdfleet(other, "dns-persist-record", "shop", "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    assert entry["zone_line"] in again.stdout and "; in DNS: yes" in again.stdout


def test_naming_a_domain_that_does_not_exist_or_no_persist_domain(pebble_persist, challtestsrv, tmp_path):
    doc = persist_config(pebble_persist, challtestsrv, tmp_path)
    config = write_config(tmp_path, doc)
    proc = mdfleet(config, "dns-persist-record", "nope")
    assert proc.returncode == 2 and "no managed domain named nope" in proc.stderr
    doc["domains"] = doc["domains"][1:]
    proc = mdfleet(write_config(tmp_path, doc), "dns-persist-record")
    assert proc.returncode == 2 and "no managed domain uses challenge dns-persist-01" in proc.stderr


def test_the_fleets_one_account_gives_every_host_the_same_record_value(pebble_factory, challtestsrv, txt, tmp_path):
    """web1 holds the fleet's account (mdfleet account ensure, no order), web2 and web3 import it;
    each host orders its own name through dns-persist-01: one account at the CA, one TXT value."""
    pebble = pebble_factory(fresh=True, binary=need(SID_PEBBLE), env={"PEBBLE_AUTHZREUSE": "0"})
    zone = "dp%s.example" % secrets.token_hex(3)
    configs = {}
    for host in ("web1", "web2", "web3"):
        (tmp_path / host).mkdir()
        doc = persist_config(pebble, challtestsrv, tmp_path / host)
        doc.update(host=host, account_holder="web1")
        doc["domains"] = [{"name": "own", "domains": ["%s.%s" % (host, zone)]}]
        configs[host] = write_config(tmp_path / host, doc)
    assert mdfleet(configs["web1"], "account", "ensure", "--json").returncode == 0
    shown = json.loads(mdfleet(configs["web1"], "dns-persist-record", "--json").stdout)
    assert shown[0]["value"] and shown[0]["issuer_source"] == "directory caaIdentities"  # no order needed

    before = mdfleet(configs["web2"], "dns-persist-record")
    assert before.returncode == 1 and "uses the fleet's account held by web1" in before.stdout, before.stdout
    bundle = mdfleet(configs["web1"], "export", "account", "--ca", pebble.directory_url).stdout
    for member in ("web2", "web3"):
        env = dict(os.environ, PYTHONPATH=UTILS)
        proc = subprocess.run([sys.executable, "-m", "mdcore", "--config", str(configs[member]), "import", "-"],
                              input=bundle, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr

    values = set()
    for host, config in configs.items():
        [entry] = json.loads(mdfleet(config, "dns-persist-record", "--json").stdout)
        assert entry["name"] == "_validation-persist.%s.%s" % (host, zone)
        values.add(entry["value"])
        txt(entry["name"], entry["value"])
    assert len(values) == 1  # the same issuer and account in every host's record
    for host, config in configs.items():
        proc = mdfleet(config, "renew", "own")
        assert proc.returncode == 0, (host, proc.stderr)
    counts = pebble_counts(pebble.log_path)
    assert counts == {"certificates": 3, "accounts": 1, "invalid_authorizations": 0}, counts
