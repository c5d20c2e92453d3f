"""The dns-persist-01 record: name, value builder, zone text, the CA's parsing and checks, and the
challenge object's issuer domain names as a hostile CA might send them."""

from __future__ import annotations

import datetime

import pytest

from mdcore.challenges.persist_value import (
    build_value,
    check_offered,
    choose_issuer,
    evaluate,
    parse_value,
    validation_name,
    zone_text,
)
from mdcore.errors import ChallengeError

ACCT = "https://ca.example/acme/acct/123"
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
ISSUERS = ["authority.example", "ca.example.net"]


def test_names_and_values():
    assert validation_name("www.example.org") == "_validation-persist.www.example.org"
    assert validation_name("*.example.org") == "_validation-persist.example.org"
    assert build_value("authority.example", ACCT) == "authority.example; accounturi=" + ACCT
    assert build_value("authority.example", ACCT, wildcard=True, persist_until=1767225600) == \
        "authority.example; accounturi=%s; policy=wildcard; persistUntil=1767225600" % ACCT


@pytest.mark.parametrize("uri", ["https://ca.example/acct/1;policy=wildcard", "https://ca.example/a b", "",
                                 "https://ca.example/ä"])
def test_an_account_url_that_would_change_the_record_is_refused(uri):
    with pytest.raises(ChallengeError, match="cannot be written into a dns-persist-01 record"):
        build_value("authority.example", uri)


def test_zone_text_splits_long_values_and_escapes_quotes():
    assert zone_text("_validation-persist.a.example", "x; accounturi=y") == \
        '_validation-persist.a.example. IN TXT "x; accounturi=y"'
    value = "authority.example; accounturi=https://ca.example/" + "a" * 300
    line = zone_text("_validation-persist.a.example", value)
    strings = line.split(" IN TXT ")[1]
    assert strings.count('"') == 4  # two character-strings
    first, second = strings[1:-1].split('" "')
    assert len(first) == 255 and first + second == value
    assert zone_text("n", 'a"b\\c') == 'n. IN TXT "a\\"b\\\\c"'


@pytest.mark.parametrize("text, issuer, params", [
    ("authority.example; accounturi=%s" % ACCT, "authority.example", {"accounturi": ACCT}),
    ("authority.example;accounturi=%s" % ACCT, "authority.example", {"accounturi": ACCT}),
    ("  authority.example\t;  AccountURI = %s ; Policy=WILDCARD" % ACCT, "authority.example",
     {"accounturi": ACCT, "policy": "WILDCARD"}),
    ("authority.example", "authority.example", {}),
    ("authority.example; accounturi=%s; future=thing" % ACCT, "authority.example",
     {"accounturi": ACCT, "future": "thing"}),
])
def test_parse_like_a_ca(text, issuer, params):
    parsed = parse_value(text)
    assert (parsed.issuer, parsed.params, parsed.error) == (issuer, params, None)


@pytest.mark.parametrize("text, error", [
    ("authority.example; accounturi=%s;" % ACCT, "empty parameter"),
    ("authority.example; accounturi", "not tag=value"),
    ("authority.example; =x", "not tag=value"),
    ("authority.example; accounturi=a; AccountUri=b", "appears twice"),
    ("authority.example; accounturi=a b", "characters"),
    ("authority.example; accounturi=a; persistUntil=tomorrow", "not a number"),
    ("authority.example; accounturi=a; persistUntil=1e9", "not a number"),
])
def test_parse_errors_a_ca_reports(text, error):
    assert error in (parse_value(text).error or "")


def test_evaluate_as_the_ca_does():
    good = "authority.example; accounturi=" + ACCT
    assert evaluate([good], ISSUERS, ACCT, False, NOW).ok
    assert evaluate(["ca.example.net; accounturi=" + ACCT], ISSUERS, ACCT, False, NOW).ok  # any offered issuer
    # records for other CAs are ignored, a broken one of ours does not hide a good one
    assert evaluate(["other.example; x", "authority.example; accounturi", good], ISSUERS, ACCT, False, NOW).ok
    others = evaluate(["letsencrypt.org; accounturi=" + ACCT], ISSUERS, ACCT, False, NOW)
    assert not others.ok and "only records for other issuers (letsencrypt.org)" in others.summary()
    wrong = evaluate(["authority.example; accounturi=https://ca.example/acme/acct/9"], ISSUERS, ACCT, False, NOW)
    assert not wrong.ok and "accounturi is https://ca.example/acme/acct/9, not this account" in wrong.summary()
    assert "no accounturi" in evaluate(["authority.example"], ISSUERS, ACCT, False, NOW).summary()
    assert evaluate([], ISSUERS, ACCT, False, NOW).summary() == "no record"


def test_evaluate_wildcard_policy_and_persist_until():
    base = "authority.example; accounturi=" + ACCT
    assert "policy=wildcard" in evaluate([base], ISSUERS, ACCT, True, NOW).summary()
    assert "policy=wildcard" in evaluate([base + "; policy=subdomains"], ISSUERS, ACCT, True, NOW).summary()
    assert evaluate([base + "; policy=WildCard"], ISSUERS, ACCT, True, NOW).ok  # case-insensitive
    assert evaluate([base + "; policy=wildcard"], ISSUERS, ACCT, False, NOW).ok  # also covers the name itself
    future, past = int(NOW.timestamp()) + 60, int(NOW.timestamp()) - 1
    assert evaluate([base + "; persistUntil=%d" % future], ISSUERS, ACCT, False, NOW).ok
    expired = evaluate([base + "; persistUntil=%d" % past], ISSUERS, ACCT, False, NOW)
    assert not expired.ok and "persistUntil 2026-11-29T11:59:59Z has passed" in expired.summary()
    assert "has passed" in evaluate([base + "; persistUntil=-5"], ISSUERS, ACCT, False, NOW).summary()


@pytest.mark.parametrize("raw, error", [
    (None, "has no issuer domain names"),
    ("authority.example", "a list expected, got str"),
    ({"a": 1}, "a list expected, got dict"),
    ([], "empty list"),
    (["n%d.example" % i for i in range(11)], "offers 11 issuer domain names (at most 10"),
    ([7], "is not a lower-case domain name"),
    (["Authority.Example"], "is not a lower-case domain name"),
    (["authority.example."], "is not a lower-case domain name"),
    (["authority.example; accounturi=https://evil.example/acct/1"], "is not a lower-case domain name"),
    (["bad name.example"], "is not a lower-case domain name"),
    (["bücher.example"], "is not a lower-case domain name"),
    (["-lead.example"], "is not a lower-case domain name"),
    (["a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 62], "is not a lower-case domain name"),  # 254
    ([""], "is not a lower-case domain name"),
])
def test_hostile_issuer_domain_names_are_refused(raw, error):
    with pytest.raises(ChallengeError) as failed:
        check_offered(raw, "www.example.org")
    assert "dns-persist-01 challenge for www.example.org" in str(failed.value)
    assert error in str(failed.value)


def test_issuer_names_that_conform_pass():
    names = ["authority.example", "xn--bcher-kva.example", "a" * 63 + ".example"]
    assert check_offered(names, "x.example") == names
    assert check_offered(["n%d.example" % i for i in range(10)], "x.example")[9] == "n9.example"


def test_choose_issuer():
    assert choose_issuer(None, ISSUERS, []) == "authority.example"
    assert choose_issuer(None, ISSUERS, ["nope.example", "ca.example.net"]) == "ca.example.net"  # shown before
    assert choose_issuer("ca.example.net", ISSUERS, ["authority.example"]) == "ca.example.net"
    assert choose_issuer("ca.example.net", None, []) == "ca.example.net"
    assert choose_issuer(None, None, ["ca.example.net"]) == "ca.example.net"
    assert choose_issuer(None, None, []) is None
    with pytest.raises(ChallengeError, match="dns_persist_issuer 'letsencrypt.org' is not one the CA offers"):
        choose_issuer("letsencrypt.org", ISSUERS, [])
