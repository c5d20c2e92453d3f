"""Managed domain configuration: names (IDNA, IPs, wildcards), options, clear ConfigErrors."""

from __future__ import annotations

import pytest

from mdcore.config import CaConfig, md_config_from_dict, normalize_name
from mdcore.errors import ConfigError

CA = "https://ca.test/dir"


def cfg(**doc):
    doc.setdefault("acme_directory", CA)
    doc.setdefault("domains", ["www.example.org"])
    return md_config_from_dict(doc)


@pytest.mark.parametrize(
    "name,want",
    [
        ("WWW.Example.ORG", "www.example.org"),
        ("example.org.", "example.org"),
        (" example.org ", "example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("*.Bücher.example", "*.xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("a-1.b2.example.org", "a-1.b2.example.org"),
        # IDNA 2008 (UTS 46, non-transitional), not Python's IDNA 2003 codec ('fass.de')
        ("faß.de", "xn--fa-hia.de"),
        ("FASS.de", "fass.de"),
        ("Ελληνικά.example", "xn--hxargifdar.example"),
    ],
)
def test_normalize_name(name: str, want: str) -> None:
    assert normalize_name(name) == want


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "exa mple.org",
        "-bad.example.org",
        "bad-.example.org",
        "localhost",
        "a..b.org",
        "foo.123",
        "*.*.example.org",
        "foo.*.example.org",
        "*",
        "x" * 64 + ".example.org",
        ("a" * 60 + ".") * 5 + "org",
        "under_score.example.org",
        "exa/mple.org",
        "1.2.3.256",
        None,
        42,
    ],
)
def test_invalid_names(name) -> None:
    with pytest.raises(ConfigError):
        normalize_name(name)


@pytest.mark.parametrize(
    "name,says",
    [
        ("x" * 300 + ".example.org", "the label 'xxxxxxxxxxxxxxxxxxxx'... is 300 characters long, at most 63"),
        (("a" * 60 + ".") * 5 + "org", "308 characters, a DNS name has at most 253"),
        ("a..b.org", "empty label"),
        ("localhost", "at least two labels"),
        ("under_score.example.org", "the label 'under_score' may hold only letters, digits and '-'"),
        ("☃.example", "(IDNA 2008)"),
    ],
)
def test_invalid_names_say_what_is_wrong(name, says) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_name(name)
    assert says in str(err.value) and len(str(err.value)) < 300


def test_names_are_normalized_and_md_named_after_the_first() -> None:
    c = cfg(domains=["WWW.Example.org", "bücher.example"])
    assert c.domains == ["www.example.org", "xn--bcher-kva.example"]
    assert c.name == "www.example.org"


def test_wildcard_first_gets_a_store_safe_name() -> None:
    c = cfg(domains=["*.example.org"], challenge="dns-01", dns_command=["/usr/local/bin/hook"])
    assert c.name == "_.example.org"


def test_bad_md_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="name"):
        cfg(name="../etc")


@pytest.mark.parametrize("domains", [["example.org", "EXAMPLE.org."], ["192.0.2.1", "192.0.2.1"]])
def test_duplicates(domains: list[str]) -> None:
    with pytest.raises(ConfigError, match="twice"):
        cfg(domains=domains)


@pytest.mark.parametrize("domains", [[], None, "www.example.org"])
def test_domains_must_be_a_non_empty_list(domains) -> None:
    with pytest.raises(ConfigError):
        cfg(domains=domains)


def test_wildcard_with_http01() -> None:
    with pytest.raises(ConfigError, match=r"wildcard names need dns-01.*\*\.example\.org"):
        cfg(domains=["example.org", "*.example.org"])


def test_dns01_needs_a_command() -> None:
    with pytest.raises(ConfigError, match="dns_command"):
        cfg(challenge="dns-01")


def test_ip_names_with_http01() -> None:
    assert cfg(domains=["192.0.2.1", "www.example.org"]).domains == ["192.0.2.1", "www.example.org"]


@pytest.mark.parametrize(
    "option,value,match",
    [
        ("renew_window", "0%", r"renew_window: '0%' must be between 0% and 100%"),
        ("renew_window", "soon", "renew_window: 'soon' is neither a percentage"),
        ("warn_window", "200%", "warn_window: '200%' must be between"),
        ("key_types", ["p256", "ed25519"], r"key_types\[1\]: must be one of p256, .*, not 'ed25519'"),
        ("key_types", ["p256", "secp256r1"], "key type twice"),
        ("key_types", [], "no key types"),
        ("challenge", "tls-alpn-02", "challenge: must be one of http-01, dns-01, tls-alpn-01, dns-persist-01"),
        ("http01_mode", "carrier-pigeon", "http01_mode"),
        ("acme_directory", "ftp://ca.test/dir", "directory URL"),
        ("order_timeout", 0, "order_timeout: must be more than 0 seconds, not 0"),
        ("request_timeout", -1, "request_timeout: must be more than 0 seconds"),
        ("standalone_port", "eighty", "standalone_port: must be an integer, not 'eighty'"),
        ("contact", ["https://example.org"], "e-mail address"),
        ("contact", ["mailto:"], "e-mail address"),
        ("contact", ["ops at example.org"], "e-mail address"),
        ("contact", ["tel:+49301234567"], "e-mail address"),
    ],
)
def test_bad_options(option: str, value, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cfg(**{option: value})


def test_contacts_as_bare_addresses_or_mailto() -> None:
    """mod_md's MDContactEmail and community.crypto take a bare address; RFC 8555 wants mailto:."""
    c = cfg(contact=["ops@example.org", " mailto:hostmaster@example.org "])
    assert c.contact == ["mailto:ops@example.org", "mailto:hostmaster@example.org"]


def test_no_ca() -> None:
    with pytest.raises(ConfigError, match="directory URL"):
        md_config_from_dict({"domains": ["www.example.org"]})


def test_good_options() -> None:
    c = cfg(
        contact=["mailto:ops@example.org"],
        key_types=["RSA", "secp256r1", "p384", "rsa4096"],
        renew_window="30d",
        warn_window="5%",
        challenge="dns-01",
        dns_command=["/bin/hook", "--zone", "example.org"],
    )
    assert c.key_types == ["rsa2048", "p256", "p384", "rsa4096"]
    assert c.challenge.dns_command == ["/bin/hook", "--zone", "example.org"]


@pytest.mark.parametrize("eab", [{"eab_kid": "kid"}, {"eab_hmac_key": "c2VjcmV0"}])
def test_eab_half_set(eab: dict) -> None:
    with pytest.raises(ConfigError, match="EAB needs both"):
        cfg(**eab)


def test_several_cas_and_eab() -> None:
    c = cfg(eab_kid="kid", eab_hmac_key="c2VjcmV0", cas=[{"url": "https://ca2.test/dir"}])
    assert [ca.url for ca in c.cas] == [CA, "https://ca2.test/dir"]
    assert c.cas[0].eab_kid == "kid" and c.cas[1].eab_kid is None
    with pytest.raises(ConfigError, match="url"):
        cfg(cas=[{"eab_kid": "x"}])


def test_ca_repr_hides_the_hmac_key() -> None:
    ca = CaConfig(CA, eab_kid="kid", eab_hmac_key="SUPERSECRET")
    assert "SUPERSECRET" not in repr(ca) and "kid" in repr(ca)
    assert "SUPERSECRET" not in repr(cfg(eab_kid="kid", eab_hmac_key="SUPERSECRET"))


def test_validate_is_idempotent() -> None:
    c = cfg(domains=["Bücher.example"])
    before = (c.name, list(c.domains), list(c.key_types))
    c.validate()
    assert (c.name, c.domains, c.key_types) == before
