"""The engine's fleet path end to end against a real pebble, through the `mdfleet` command of three
stores (web1 issues the shared domain and holds the account, web2 and web3 import): one order per
shared set, one ACME account for all three (pebble's log says so), atomic and idempotent imports,
an older bundle refused, a rollover reaching the members, kill -9 at every import write point."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.fleet import pebble_counts

from .test_mdfleet_cli import UTILS

ISSUER, MEMBERS = "web1", ("web2", "web3")
HOSTS = (ISSUER, *MEMBERS)


@dataclass
class Host:
    name: str
    config: Path
    store: Path

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=UTILS)
        proc = subprocess.run([sys.executable, "-m", "mdcore", "--config", str(self.config), *args], env=env,
                              input=stdin, capture_output=True, text=True, timeout=180, check=False)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str, stdin: str | None = None) -> dict:
        return json.loads(self.run(*args, "--json", stdin=stdin).stdout)

    def active(self, md: str) -> dict:
        return json.loads((self.store / "domains" / md / "set.json").read_text())


@pytest.fixture
def fleet(pebble_factory, tmp_path: Path) -> tuple[dict[str, Host], object, str]:
    """Three hosts on a fresh pebble (its log counts accounts and certificates of this test only)."""
    pebble = pebble_factory(fresh=True, env={"PEBBLE_WFE_NONCEREJECT": "0"})
    zone = "fe%s.example" % secrets.token_hex(3)
    hosts = {}
    for name in HOSTS:
        doc = {
            "host": name, "account_holder": ISSUER, "store": str(tmp_path / name / "store"),
            "stapling": {"enabled": False}, "lock_wait": 5,
            "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                         "contact": ["mailto:ops@example.org"], "http01_mode": "standalone",
                         "standalone_address": "127.0.0.1", "standalone_port": pebble.http_port},
            "domains": [{"name": "shop", "domains": ["shop.%s" % zone, "www.shop.%s" % zone],
                         "key_types": ["p256", "rsa2048"], "issuer": ISSUER, "members": list(HOSTS)},
                        {"name": "own", "domains": ["%s.%s" % (name, zone)]}],
        }
        (tmp_path / name).mkdir()
        config = tmp_path / name / "config.json"
        config.write_text(json.dumps(doc))
        hosts[name] = Host(name, config, tmp_path / name / "store")
    return hosts, pebble, zone


def distribute_set(hosts: dict[str, Host], md: str = "shop") -> tuple[str, list[dict]]:
    bundle = hosts[ISSUER].run("export", "set", md).stdout
    return bundle, [hosts[m].json("import", "-", stdin=bundle) for m in MEMBERS]


def distribute_account(hosts: dict[str, Host], ca: str) -> list[dict]:
    bundle = hosts[ISSUER].run("export", "account", "--ca", ca).stdout
    return [hosts[m].json("import", "-", stdin=bundle) for m in MEMBERS]


def fingerprints(info: dict) -> dict[str, str]:
    return {kt: c["sha256_fingerprint"] for kt, c in info["certs"].items()}


def test_one_order_one_account_for_three_stores(fleet) -> None:
    hosts, pebble, _zone = fleet
    # a member that has no account yet never registers one: a clear error, nothing at the CA
    early = hosts["web2"].run("renew", "--ignore-backoff", "own", "--json", check=False)
    assert early.returncode == 1
    assert "no ACME account for %s in the store: this host uses the fleet's account held by web1; run " \
           "playbooks/distribute.yml" % pebble.directory_url in early.stderr
    assert pebble_counts(pebble.log_path)["accounts"] == 0

    ensured = hosts[ISSUER].json("account", "ensure")
    (account,) = ensured["accounts"]
    assert account["action"] == "registered" and ensured["changed"]
    assert all(r["action"] == "imported" for r in distribute_account(hosts, pebble.directory_url))
    assert all(r["action"] == "unchanged" for r in distribute_account(hosts, pebble.directory_url))

    first = hosts[ISSUER].json("renew", "--ignore-backoff")
    assert {d["md"]: d["action"] for d in first["domains"]} == {"shop": "order", "own": "order"}
    for member in MEMBERS:
        # the member's timer: its own domain is ordered (with the fleet's account), the shared one never
        run = hosts[member].json("drive")
        assert {d["md"]: (d["action"], d["reasons"]) for d in run["domains"]} == {
            "shop": ("await-issuer", ["no set imported from the issuer yet"]), "own": ("order", ["no certificate yet"])}
    assert pebble_counts(pebble.log_path) == {"certificates": 2 + 1 + 1 + 1, "accounts": 1,
                                              "invalid_authorizations": 0}

    bundle, results = distribute_set(hosts)
    issued = hosts[ISSUER].active("shop")
    for member, result in zip(MEMBERS, results, strict=True):
        assert (result["action"], result["changed"]) == ("imported", True)
        assert result["serials"] == {kt: c["serial"] for kt, c in issued["certs"].items()}
        assert fingerprints(hosts[member].active("shop")) == fingerprints(issued)
        for kt in ("p256", "rsa2048"):
            for name in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"):
                assert (hosts[member].store / "domains/shop" / kt / name).read_bytes() == \
                    (hosts[ISSUER].store / "domains/shop" / kt / name).read_bytes()
            assert (hosts[member].store / "domains/shop" / kt / "privkey.pem").stat().st_mode & 0o777 == 0o600
    assert [r["action"] for r in distribute_set(hosts)[1]] == ["unchanged", "unchanged"]
    states = [hosts[h].json("fleet-state") for h in HOSTS]
    assert states[0]["sets"]["shop"]["certs"] == states[1]["sets"]["shop"]["certs"] == \
        states[2]["sets"]["shop"]["certs"]
    assert states[0]["accounts"] == states[1]["accounts"] == states[2]["accounts"]
    # a second deploy orders nothing anywhere
    for host in HOSTS:
        assert all(d["action"] in ("none", "await-issuer") and not d["changed"]
                   for d in hosts[host].json("renew", "--ignore-backoff")["domains"])
    assert pebble_counts(pebble.log_path)["certificates"] == 5

    # a forced renewal on the issuer: members import the new serial; the old bundle is refused
    refused = hosts["web2"].run("renew", "--force", "shop", check=False)
    assert refused.returncode == 2 and "shop is a shared domain ordered by web1: renew it there" in refused.stderr
    hosts[ISSUER].json("renew", "--force", "shop")
    _new, results = distribute_set(hosts)
    renewed = hosts[ISSUER].active("shop")
    assert fingerprints(renewed) != fingerprints(issued)
    assert [r["action"] for r in results] == ["imported", "imported"]
    assert all(fingerprints(hosts[m].active("shop")) == fingerprints(renewed) for m in MEMBERS)
    old = hosts["web3"].run("import", "--json", "-", stdin=bundle)
    doc = json.loads(old.stdout)
    assert old.returncode == 0 and (doc["action"], doc["changed"]) == ("refused", False)
    assert "older than the active set, which is kept" in old.stderr
    assert fingerprints(hosts["web3"].active("shop")) == fingerprints(renewed)
    assert pebble_counts(pebble.log_path) == {"certificates": 7, "accounts": 1, "invalid_authorizations": 0}


def test_account_rollover_on_the_holder_reaches_the_members(fleet) -> None:
    hosts, pebble, _zone = fleet
    hosts[ISSUER].json("account", "ensure")
    distribute_account(hosts, pebble.directory_url)
    before = hosts["web2"].json("fleet-state")["accounts"]
    rolled = hosts[ISSUER].json("account", "rollover", "--ca", pebble.directory_url)["accounts"][0]
    (entry,) = before.values()
    assert rolled["action"] == "rolled-over" and rolled["account_url"] == entry["account_url"]
    assert rolled["key_thumbprint"] != entry["key_thumbprint"]
    refused = hosts["web2"].run("account", "rollover", "--ca", pebble.directory_url, check=False)
    assert refused.returncode == 2 and "held by web1: roll the account key over there" in refused.stderr
    results = distribute_account(hosts, pebble.directory_url)
    assert all(r["action"] == "imported" and r["key_thumbprint"] == rolled["key_thumbprint"] for r in results)
    assert "key rollover at the holder web1" in results[0]["warnings"][0]
    # pebble accepts only the new key now: the members order with it
    for member in MEMBERS:
        assert hosts[member].json("renew", "own")["domains"][0]["action"] == "order"
    assert pebble_counts(pebble.log_path)["accounts"] == 1


KILLER = """
import os, runpy, shutil, signal, sys
n = int(os.environ["MDFLEET_KILL_AT"])
calls = [0]
def wrap(real):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
for name in ("replace", "rename", "symlink", "unlink", "fsync"):
    setattr(os, name, wrap(getattr(os, name)))
shutil.rmtree = wrap(shutil.rmtree)
sys.argv = ["mdfleet"] + sys.argv[1:]
runpy.run_module("mdcore", run_name="__main__")
"""


def test_kill_9_at_every_import_write_point_leaves_a_complete_set(fleet, tmp_path) -> None:
    hosts, _pebble, _zone = fleet
    hosts[ISSUER].json("account", "ensure")
    hosts[ISSUER].json("renew", "shop")
    distribute_set(hosts)
    hosts[ISSUER].json("renew", "--force", "shop")
    newer = hosts[ISSUER].run("export", "set", "shop").stdout
    member = hosts["web2"]
    old_prints, new_prints = fingerprints(member.active("shop")), fingerprints(hosts[ISSUER].active("shop"))
    pristine = tmp_path / "pristine"
    shutil.copytree(member.store, pristine, symlinks=True)
    kills = 0
    for n in range(1, 200):
        shutil.rmtree(member.store)
        shutil.copytree(pristine, member.store, symlinks=True)
        env = dict(os.environ, PYTHONPATH=UTILS, MDFLEET_KILL_AT=str(n))
        proc = subprocess.run([sys.executable, "-c", KILLER, "--config", str(member.config), "import", "--json", "-"],
                              input=newer, env=env, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != -signal.SIGKILL:
            assert proc.returncode == 0, proc.stderr
            break
        kills += 1
        active = member.active("shop")  # complete: every file of every key type, and old or new
        assert fingerprints(active) in (old_prints, new_prints), n
        for kt in active["key_types"]:
            for name in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"):
                assert (member.store / "domains/shop" / kt / name).is_file(), (n, kt, name)
        finished = member.json("import", "-", stdin=newer)  # the next run recovers, then imports
        assert finished["action"] in ("imported", "unchanged"), n
        assert fingerprints(member.active("shop")) == new_prints, n
        assert not (member.store / "staging" / "shop").exists(), n
    assert kills > 20
