"""The fleet keys of the host config (host, account_holder, accounts) and of a domain (issuer,
members): validated whole, each error naming the file, the key and what is wrong."""

from __future__ import annotations

import pytest

from mdcore.errors import ConfigError
from mdcore.hostconfig import parse_host_config

CA = "https://ca.test/dir"


def config(**top) -> dict:
    doc = {"host": "web2", "defaults": {"acme_directory": CA, "contact": ["mailto:ops@example.org"]},
           "domains": [{"name": "shop", "domains": ["shop.example"], "issuer": "web1", "members": ["web2", "web3"]},
                       {"name": "own", "domains": ["web2.example"]}]}
    doc.update(top)
    return doc


def test_the_fleet_keys_are_read() -> None:
    cfg = parse_host_config(config(account_holder="web1", accounts=[
        {"url": "https://other.test/dir", "eab_kid": "kid-1", "eab_hmac_key": "c2VjcmV0", "agree_tos": True}]))
    assert (cfg.host, cfg.account_holder, cfg.holds_accounts) == ("web2", "web1", False)
    shop, own = cfg.domains
    assert (shop.issuer, shop.members, shop.imported, shop.may_register) == ("web1", ["web2", "web3"], True, False)
    assert (own.issuer, own.imported, own.may_register) == (None, False, False)
    (acct,) = cfg.accounts
    assert (acct.ca.url, acct.ca.eab_kid, acct.agree_tos, acct.contact) == (
        "https://other.test/dir", "kid-1", True, ["mailto:ops@example.org"])  # contact from the defaults
    assert "c2VjcmV0" not in repr(acct)  # the EAB key never shows


def test_the_issuer_orders_and_holds() -> None:
    cfg = parse_host_config(config(host="web1", account_holder="web1"))
    assert cfg.holds_accounts and not cfg.domains[0].imported and cfg.domains[0].may_register


def test_without_fleet_keys_nothing_changes() -> None:
    cfg = parse_host_config({"domains": [{"domains": ["a.example"], "acme_directory": CA}]})
    (md,) = cfg.domains
    assert (cfg.account_holder, cfg.accounts, md.issuer, md.members, md.imported, md.may_register) == (
        None, [], None, [], False, True)


@pytest.mark.parametrize("change, message", [
    ({"host": ""}, "config.json: host: must not be empty (leave the key out to set none)"),
    ({"host": 7}, "config.json: host: must be a string, not 7"),
    ({"host": "web 2"}, "config.json: host: host 'web 2' must be a host name"),
    ({"account_holder": ["web1"]}, "config.json: account_holder: must be a string, not ['web1']"),
    ({"accounts": {"url": CA}}, "config.json: accounts: must be a list of ACME accounts"),
    ({"accounts": ["x"]}, "config.json: accounts[0]: must be an object"),
    ({"accounts": [{"url": CA, "eab": 1}]}, "config.json: accounts[0]: unknown key eab"),
    ({"accounts": [{"url": "ca.test"}]}, "config.json: accounts[0].url: 'ca.test' is not an ACME directory URL"),
    ({"accounts": [{"url": CA, "eab_kid": "k"}]}, "config.json: accounts[0]: EAB needs both eab_kid and eab_hmac_key"),
    ({"accounts": [{"url": CA, "account_key_type": "rsa1024"}]}, "accounts[0].account_key_type: must be one of"),
    ({"accounts": [{"url": CA, "agree_tos": "yes"}]}, "accounts[0].agree_tos: must be true or false, not 'yes'"),
    ({"accounts": [{"url": CA, "contact": ["ops at example.org"]}]}, "accounts[0]: contact 'ops at example.org'"),
    ({"accounts": [{"url": CA, "request_timeout": "soon"}]}, "accounts[0].request_timeout: must be seconds"),
    ({"domains": [{"domains": ["a.example"], "issuer": ""}]}, "domains[0] (a.example): issuer: must not be empty"),
    ({"domains": [{"domains": ["a.example"], "issuer": "web1", "members": "web2"}]},
     "config.json: domains[0] (a.example): members: must be a list, not 'web2'"),
    ({"domains": [{"domains": ["a.example"], "issuer": "web1", "members": ["web2", "web2"]}]},
     "domains[0] (a.example): members lists a host twice"),
    ({"domains": [{"domains": ["a.example"], "issuer": "web1", "members": ["web2", 3]}]},
     "domains[0] (a.example): members[1]: must be a non-empty string, not 3"),
    ({"domains": [{"domains": ["a.example"], "members": ["web2"]}]},
     "domains[0] (a.example): members are listed for a shared domain only: set issuer"),
    ({"domains": [{"domains": ["a.example"], "issuer": "web1", "members": ["web3"]}]},
     "domains[0] (a.example): this host (web2) is neither the issuer (web1) nor one of the members (web3)"),
    ({"defaults": {"acme_directory": CA, "host": "web9"}}, "config.json: defaults: unknown key host"),
])
def test_bad_fleet_keys_are_named(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_host_config(config(**change))
    assert message in str(info.value)
