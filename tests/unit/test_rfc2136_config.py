"""dns_provider rfc2136 in a managed domain's options and the host config: every bad input is a
ConfigError naming the key, and the TSIG secret is never in a message or a repr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdcore import dnsquery
from mdcore.config import DnsProvider, md_config_from_dict
from mdcore.dnsquery import Nameserver
from mdcore.errors import ConfigError
from mdcore.hostconfig import parse_host_config
from mdcore.manager import config_digest

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
GOOD = {"server": "192.0.2.53", "key_name": "acme-update", "key_secret": SECRET}


def cfg(rfc2136: object = None, **options):
    doc = {"domains": ["*.example.org", "example.org"], "acme_directory": "https://ca.test/dir",
           "challenge": "dns-01", "dns_provider": "rfc2136", "rfc2136": GOOD if rfc2136 is None else rfc2136}
    doc.update(options)
    return md_config_from_dict(doc)


def test_defaults() -> None:
    chal = cfg().challenge
    assert chal.dns_provider == DnsProvider.RFC2136
    s = chal.rfc2136
    assert (s.server, s.zone, s.key_algorithm, s.ttl, s.timeout, s.propagation_check, s.propagation_timeout,
            s.nameserver_port, s.resolvers) == (Nameserver("192.0.2.53", 53), None, None, 60, 10.0, True, 120.0, 53, [])
    key = s.tsig_key()
    assert (key.name, key.algorithm) == ("acme-update", "hmac-sha256")


def test_all_settings() -> None:
    s = cfg(dict(GOOD, server="2001:db8::53", port=5353, zone="Example.ORG.", key_algorithm="HMAC-SHA512", ttl=30,
                 timeout=3, propagation_check=False, propagation_timeout=60, nameserver_port=5300,
                 resolvers=["127.0.0.53", "[::1]:5353"])).challenge.rfc2136
    assert s.server == Nameserver("2001:db8::53", 5353) and s.zone == "example.org"
    assert s.tsig_key().algorithm == "hmac-sha512"
    assert s.resolvers == [Nameserver("127.0.0.53", 53), Nameserver("::1", 5353)]
    assert (s.ttl, s.timeout, s.propagation_check, s.propagation_timeout, s.nameserver_port) == (30, 3, False, 60, 5300)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, r"rfc2136.server: is required"),
        ("192.0.2.53", r"rfc2136: must be an object"),
        (dict(GOOD, server="ns1.example.org"), r"rfc2136.server: invalid DNS server 'ns1.example.org': an IP address"),
        (dict(GOOD, port=70000), r"rfc2136.port: must be between 1 and 65535, not 70000"),
        (dict(GOOD, key_algorithm="hmac-sha3"), r"rfc2136.key_algorithm: must be one of hmac-sha256, hmac-sha384, "
                                                r"hmac-sha512, not 'hmac-sha3'"),
        (dict(GOOD, key_algorithm="hmac-md5"), r"rfc2136.key_algorithm: must be one of .*, not 'hmac-md5'"),
        (dict(GOOD, key_secret="%%%"), r"rfc2136.key_secret: the TSIG secret is not base64"),
        ({"server": "192.0.2.53", "key_secret": SECRET}, r"key_secret needs key_name"),
        ({"server": "192.0.2.53", "key_name": "k"}, r"rfc2136 needs a TSIG key: key_name with key_secret, or key_file"),
        (dict(GOOD, key_file="/etc/k.key"), r"give key_secret or key_file, not both"),
        (dict(GOOD, zone="bad zone"), r"rfc2136.zone: 'bad zone' is not a DNS zone name"),
        (dict(GOOD, ttl=0), r"rfc2136.ttl: must be between 1 and 86400, not 0"),
        (dict(GOOD, timeout="soon"), r"rfc2136.timeout: must be seconds .*, not 'soon'"),
        (dict(GOOD, propagation_timeout=float("nan")), r"rfc2136.propagation_timeout: must be seconds .* not nan"),
        (dict(GOOD, propagation_check="false"), r"rfc2136.propagation_check: must be true or false, not 'false'"),
        (dict(GOOD, resolvers="127.0.0.53"), r"rfc2136.resolvers: must be a list, not '127.0.0.53'"),
        (dict(GOOD, resolvers=["resolver.example"]), r"rfc2136.resolvers: invalid DNS server 'resolver.example'"),
        (dict(GOOD, secret=SECRET), r"rfc2136: unknown key secret"),
    ],
)
def test_bad_settings(settings: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        cfg(settings)
    assert SECRET not in str(info.value)


def test_provider_and_settings_must_agree() -> None:
    with pytest.raises(ConfigError, match="rfc2136 settings are given, but dns_provider is command: set dns_provider"):
        cfg(dns_provider=None)
    with pytest.raises(ConfigError, match="dns_provider rfc2136 needs the rfc2136 settings"):
        md_config_from_dict({"domains": ["example.org"], "acme_directory": "https://ca.test/dir",
                             "challenge": "dns-01", "dns_provider": "rfc2136"})
    with pytest.raises(ConfigError, match=r"dns_provider: must be one of command, rfc2136, not 'route53'"):
        cfg(dns_provider="route53")
    with pytest.raises(ConfigError, match="dns_propagation_seconds: must be between 0 and 86400 seconds, not -1"):
        cfg(dns_propagation_seconds=-1)


def test_an_http01_domain_may_inherit_rfc2136_settings() -> None:
    c = cfg(challenge="http-01", domains=["www.example.org"])
    assert c.challenge.rfc2136 is not None


def test_missing_dnspython_is_named_with_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnsquery, "HAVE_DNSPYTHON", False)
    with pytest.raises(ConfigError, match=r"dns_provider rfc2136 needs dnspython \(Debian: python3-dnspython\), "
                                          r"which is not installed"):
        cfg()
    cfg(challenge="http-01", domains=["www.example.org"])  # only the feature needs it


def test_secret_not_in_repr_or_digest() -> None:
    c = cfg()
    assert SECRET not in repr(c) and SECRET not in repr(c.challenge.rfc2136)
    other = cfg(dict(GOOD, key_secret="b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0zMmI="))
    assert config_digest(c) == config_digest(other)  # the secret takes no part in it
    assert config_digest(c) != config_digest(cfg(dict(GOOD, zone="example.org")))


def test_key_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.key"
    path.write_text('key "acme-update" { algorithm hmac-sha384; secret "%s"; };\n' % SECRET)
    s = cfg({"server": "192.0.2.53", "key_file": str(path)}).challenge.rfc2136
    assert s.tsig_key().algorithm == "hmac-sha384"
    s = cfg({"server": "192.0.2.53", "key_file": str(path), "key_algorithm": "hmac-sha256"}).challenge.rfc2136
    with pytest.raises(ConfigError, match=r"key acme-update in .*acme.key is hmac-sha384, but key_algorithm says "
                                          r"hmac-sha256"):
        s.tsig_key()


def test_host_config_merges_rfc2136_with_the_defaults() -> None:
    doc = {"defaults": {"acme_directory": "https://ca.test/dir", "challenge": "dns-01", "dns_provider": "rfc2136",
                        "rfc2136": GOOD},
           "domains": [{"domains": ["*.example.org"]},
                       {"domains": ["*.shop.example.net"], "rfc2136": {"zone": "shop.example.net"}}]}
    host = parse_host_config(json.loads(json.dumps(doc)), "config.json")
    first, second = (d.challenge.rfc2136 for d in host.domains)
    assert first.zone is None and second.zone == "shop.example.net"
    assert second.key_name == "acme-update" and second.server == Nameserver("192.0.2.53", 53)
    doc["domains"][1]["rfc2136"] = {"zone": "x", "keyname": "oops"}
    with pytest.raises(ConfigError, match=r"config.json: domains\[1\] \(\*.shop.example.net\): rfc2136: unknown key "
                                          r"keyname"):
        parse_host_config(doc, "config.json")
