"""The fleet model filters (plugins/plugin_utils/fleet.py) through real Ansible: what each host orders,
imports and forwards, and a clear error for every inconsistent declaration."""

from __future__ import annotations

import json
import sys

from integration.ansible_run import on_localhost

CA = "https://ca.example.test/dir"
SHOP = {"name": "shop", "domains": ["shop.example.org", "WWW.shop.example.org"], "issuer": "web1"}


def hv(domains, **more) -> dict:
    return {"managed_domains_domains": domains, "managed_domains_defaults": {"acme_directory": CA}, **more}


GOOD = {
    "web1": hv([SHOP, {"domains": ["web1.example.org"]}], managed_domains_listen_addresses=["10.0.0.1"],
               managed_domains_account_holder="web1"),
    "web2": hv([SHOP, {"domains": ["web2.example.org"]}], managed_domains_account_holder="web1",
               managed_domains_defaults={"acme_directory": CA, "cas": [
                   {"url": "https://backup.example.test/dir", "eab_kid": "k1", "eab_hmac_key": "EABSECRET"}]}),
    "web3": hv([dict(SHOP, domains=["www.shop.example.org", "shop.example.org."][::-1]),
                {"name": "api", "domains": ["api.example.org"], "issuer": "issuer0", "challenge": "dns-01"}],
               managed_domains_account_holder="web1", ansible_host="192.0.2.3"),
    "issuer0": hv([], managed_domains_fleet_address="10.0.0.9", managed_domains_http_port=8080),
    "nothing": {},
}

BAD = {
    "two issuers": {"a": hv([SHOP]), "b": hv([dict(SHOP, issuer="b")])},
    "other names": {"a": hv([dict(SHOP, issuer="a")]), "b": hv([dict(SHOP, issuer="a", domains=["x.example.org"])])},
    "other key types": {"a": hv([dict(SHOP, issuer="a")]), "b": hv([dict(SHOP, issuer="a", key_types=["rsa2048"])])},
    "issuer unknown": {"a": hv([SHOP])},
    "declared without issuer": {"web1": hv([SHOP]), "b": hv([{"name": "shop", "domains": SHOP["domains"]}])},
    "holder unknown": {"a": hv([], managed_domains_account_holder="ghost")},
    "bad name": {"a": hv([{"domains": ["not a name"], "issuer": "a"}])},
}


def test_fleet_model_and_views(ansible_collections_dir, tmp_path):
    model = "hostvars_fixture | mdfleet.md.managed_domains_fleet(hostvars_fixture | list)"
    tasks = [{"name": "model", "ansible.builtin.set_fact": {"model": "{{ %s }}" % model}}]
    for host in ("web1", "web2", "web3", "issuer0"):
        tasks.append({"name": "view " + host, "ansible.builtin.set_fact": {"view": (
            "{{ model | mdfleet.md.managed_domains_fleet_view('%s', hostvars_fixture['%s'].managed_domains_domains,"
            " hostvars_fixture['%s'].managed_domains_defaults, hostvars_fixture['%s'].managed_domains_account_holder"
            " | default(''), hostvars_fixture) }}" % (host, host, host, host))}, "no_log": False})
    for label, fixture in BAD.items():
        tasks.append({"name": "bad " + label, "ansible.builtin.set_fact": {"x": (
            "{{ %s | mdfleet.md.managed_domains_fleet(%s | list) }}" % (json.dumps(fixture), json.dumps(fixture)))},
            "ignore_errors": True})
    tasks.append({"name": "role vars disagree", "ansible.builtin.set_fact": {"x": (
        "{{ model | mdfleet.md.managed_domains_fleet_view('web2', [%s]) }}"
        % json.dumps(dict(SHOP, key_types=["p384"])))}, "ignore_errors": True})
    book = tmp_path / "play.yml"
    book.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "vars": {"hostvars_fixture": GOOD},
                                 "tasks": tasks}]))
    proc, res = on_localhost(ansible_collections_dir, book, sys.executable)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    model_out = res["model"]["ansible_facts"]["model"]
    assert model_out["shared"]["shop"]["members"] == ["web1", "web2", "web3"]
    assert model_out["shared"]["shop"]["domains"] == ["shop.example.org", "www.shop.example.org"]
    assert model_out["shared"]["api"]["issuer"] == "issuer0"
    assert "EABSECRET" not in json.dumps(model_out)  # the model keeps no secret

    views = {h: res["view " + h]["ansible_facts"]["view"] for h in ("web1", "web2", "web3", "issuer0")}
    assert views["web1"]["issues"] == ["shop"] and views["web1"]["imports"] == {}
    assert views["web1"]["domains"][0]["members"] == ["web1", "web2", "web3"]
    assert views["web2"]["imports"] == {"shop": "web1"}
    assert views["web2"]["forward"]["shop"] == {"issuer": "web1", "address": "10.0.0.1", "port": 80,
                                                "names": ["shop.example.org", "www.shop.example.org"],
                                                "challenge": "http-01"}
    # dns-01: nothing to forward; the issuer that serves none of it answers its challenges only
    assert views["web3"]["imports"] == {"shop": "web1", "api": "issuer0"} and "api" not in views["web3"]["forward"]
    assert views["issuer0"]["issues"] == ["api"] and views["issuer0"]["challenge_only"][0]["name"] == "api"
    assert views["issuer0"]["domains"][0]["site"] == {"enabled": False}
    # the holder keeps the accounts of CAs others order from (the EAB key read from their variables)
    assert views["web1"]["holder_accounts"] == [{"url": "https://backup.example.test/dir", "eab_kid": "k1",
                                                 "eab_hmac_key": "EABSECRET"}]
    assert views["web2"]["account_holder"] == "web1" and views["web2"]["holder_accounts"] == []

    messages = {label: res["bad " + label]["msg"] for label in BAD}
    assert all(res["bad " + label]["failed"] for label in BAD)
    assert "two different issuers: web1 on a, b on b" in messages["two issuers"]
    assert "two different names" in messages["other names"] and "x.example.org" in messages["other names"]
    assert "two different key types" in messages["other key types"]
    assert "its issuer 'web1' is not a host of the inventory (declared on a)" in messages["issuer unknown"]
    assert "b declares it without an issuer" in messages["declared without issuer"]
    assert "managed_domains_account_holder 'ghost' is not a host of the inventory" in messages["holder unknown"]
    assert "a: managed_domains_domains[0]: invalid domain name 'not a name'" in messages["bad name"]
    disagree = res["role vars disagree"]
    assert disagree["failed"] and "two different key types" in disagree["msg"] and "web2" in disagree["msg"]
