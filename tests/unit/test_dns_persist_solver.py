"""dns-persist-01 through the order flow against the fake CA: the pre-check before any challenge
response, hostile challenge objects, the CA's refusal turned into the record to publish, config."""

from __future__ import annotations

import os

import pytest

from mdcore import dnsquery
from mdcore.acme.account import AccountStore
from mdcore.acme.problems import OrderDeadError
from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.dnspersist01 import DnsPersistSolver, PersistOptions
from mdcore.config import persist_until
from mdcore.errors import ChallengeError, ConfigError, MdError
from mdcore.persist_records import memory_path, records_for, remembered

ISSUER = "authority.example"


@pytest.fixture
def dns(monkeypatch):
    """The TXT records the pre-check sees: {name: [values]}; lookups are recorded."""
    zone: dict[str, list[str]] = {}
    asked: list[tuple[str, list, float]] = []

    def lookup(name, servers, timeout):
        asked.append((name, servers, timeout))
        return list(zone.get(name, []))

    monkeypatch.setattr(dnsquery, "txt_values", lookup)
    monkeypatch.setattr(dnsquery, "HAVE_DNSPYTHON", True)
    zone_asked = (zone, asked)
    return zone_asked


@pytest.fixture
def persist_ca(fake_ca):
    fake_ca.persist_challenge = {"issuer-domain-names": [ISSUER, "other.example"]}
    return fake_ca


def persist(make_cfg, names=None, **extra):
    return make_cfg(names or ["www.example.org"], challenge="dns-persist-01",
                    dns_persist_resolvers=["127.0.0.1:8053"], **extra)


def account_url(store, fake_ca) -> str:
    return AccountStore(store.path("accounts")).load(fake_ca.directory_url, None)[0].url


def test_precheck_names_every_missing_record_and_sends_no_challenge_response(persist_ca, dns, make_cfg, run_md,
                                                                             store):
    zone, asked = dns
    cfg = persist(make_cfg, ["www.example.org", "example.org"])
    with pytest.raises(ChallengeError) as failed:
        run_md(cfg)
    url = account_url(store, persist_ca)
    message = str(failed.value)
    for name in ("www.example.org", "example.org"):
        assert '_validation-persist.%s. IN TXT "%s; accounturi=%s"' % (name, ISSUER, url) in message
    assert "the CA was not asked to validate" in message and "looked up at 127.0.0.1:8053" in message
    assert persist_ca.count("challenge") == 0
    assert [a[0] for a in asked] == ["_validation-persist.www.example.org", "_validation-persist.example.org"]
    assert asked[0][1] == [dnsquery.Nameserver("127.0.0.1", 8053)]
    # the CA's issuer domain names are remembered for the record display
    assert remembered(store, persist_ca.directory_url)["offered"] == [ISSUER, "other.example"]

    for name in ("www.example.org", "example.org"):
        zone["_validation-persist." + name] = ["%s; accounturi=%s" % (ISSUER, url)]
    result = run_md(cfg, force=True)
    assert result.changed and persist_ca.count("challenge") == 2
    assert records_for(store, cfg, store.clock)[0]["zone_line"] == \
        '_validation-persist.www.example.org. IN TXT "%s; accounturi=%s"' % (ISSUER, url)


def test_records_from_the_directory_before_any_order(persist_ca, dns, make_cfg, run_md, store, monkeypatch):
    cfg = persist(make_cfg, ["*.example.org", "example.org"], dns_persist_policy="wildcard",
                  dns_persist_until="2027-06-30")
    directory = {"meta": {"caaIdentities": ["Bad Name", ISSUER]}, "newNonce": "x", "newOrder": "y"}
    entries = records_for(store, cfg, store.clock, lambda ca: directory)
    [entry] = entries  # the wildcard and its base name share one record
    assert entry["identifiers"] == ["*.example.org", "example.org"]
    assert entry["issuer_domain_name"] == ISSUER and entry["issuer_source"] == "directory caaIdentities"
    assert entry["value"] is None and "no ACME account" in entry["missing"][0]  # no account yet
    assert entry["persist_until"] == "2027-06-30T00:00:00Z" and entry["policy"] == "wildcard"
    assert not os.path.exists(store.path("dns-persist"))  # only locked runs write the memory
    assert records_for(store, cfg, store.clock, None)[0]["issuer_source"] == "unknown"  # offline, nothing known


def test_the_order_expects_the_issuer_the_directory_showed(persist_ca, dns, make_cfg, run_md, store, monkeypatch):
    directory = persist_ca._directory

    def with_names():
        doc = directory()
        doc["meta"]["issuerDomainNames"] = ["other.example"]  # draft -02: a subset of every challenge's
        return doc

    monkeypatch.setattr(persist_ca, "_directory", with_names)
    cfg = persist(make_cfg)
    with pytest.raises(ChallengeError, match='IN TXT "other.example; accounturi='):
        run_md(cfg)
    [entry] = records_for(store, cfg, store.clock)
    assert entry["issuer_domain_name"] == "other.example" and entry["issuer_source"] == "challenge"


def test_a_ca_wanting_hashed_account_uris_is_flagged(persist_ca, dns, make_cfg, run_md, store, monkeypatch):
    directory = persist_ca._directory

    def hashed():
        doc = directory()
        doc["meta"].update(accountHashPrefix="https://ca.test/account-hash/", issuerDomainNames=[ISSUER])
        return doc

    monkeypatch.setattr(persist_ca, "_directory", hashed)
    cfg = persist(make_cfg)
    [offline] = records_for(store, cfg, store.clock, lambda ca: hashed())
    assert "accountHashPrefix" in offline["warnings"][0]
    with pytest.raises(ChallengeError):
        run_md(cfg)  # the order remembers what the directory said
    [entry] = records_for(store, cfg, store.clock)
    assert entry["value"] and "does not build" in entry["warnings"][0]


def test_draft02_issuer_field_and_directory_names_are_read(persist_ca, dns, make_cfg, run_md, store):
    persist_ca.persist_challenge = {"issuerDomainNames": ["ca.example.net", ISSUER]}
    zone, _asked = dns
    cfg = persist(make_cfg)
    with pytest.raises(ChallengeError):
        run_md(cfg)
    zone["_validation-persist.www.example.org"] = ["ca.example.net; accounturi=" + account_url(store, persist_ca)]
    assert run_md(cfg, force=True).changed


@pytest.mark.parametrize("challenge, error", [
    ({"issuer-domain-names": []}, "offers an empty list of issuer domain names"),
    ({"issuer-domain-names": ["n%d.example" % i for i in range(11)]}, "offers 11 issuer domain names"),
    ({}, "has no issuer domain names"),
    ({"issuer-domain-names": ["x.example; policy=wildcard"]}, "is not a lower-case domain name"),
    ({"issuer-domain-names": [ISSUER], "accounturi": "https://evil.example/acct/1"},
     "names accounturi 'https://evil.example/acct/1', but the order is made by account"),
    ({"issuer-domain-names": [ISSUER], "accounturi": ["x"]}, "names accounturi"),
])
def test_hostile_challenge_objects_fail_before_any_response(persist_ca, dns, make_cfg, run_md, challenge, error):
    persist_ca.persist_challenge = challenge
    with pytest.raises(ChallengeError, match="dns-persist-01 challenge for www.example.org") as failed:
        run_md(persist(make_cfg))
    assert error in str(failed.value)
    assert persist_ca.count("challenge") == 0 and dns[1] == []


def test_junk_beside_the_challenge_is_skipped_and_a_bad_url_is_a_clear_error(persist_ca, dns, make_cfg, run_md,
                                                                             store):
    zone, _asked = dns
    persist_ca.junk_challenges = ["dns-persist-01", 7, None, ["x"]]
    with pytest.raises(ChallengeError, match="record not in place"):
        run_md(persist(make_cfg))
    zone["_validation-persist.www.example.org"] = ["%s; accounturi=%s" % (ISSUER, account_url(store, persist_ca))]
    assert run_md(persist(make_cfg), force=True).changed  # the junk did not get in the way
    zone["_validation-persist.new.example.org"] = zone["_validation-persist.www.example.org"]
    persist_ca.persist_challenge = {"issuer-domain-names": [ISSUER], "url": 12}
    # an error of ours, not a traceback
    with pytest.raises(MdError, match=r"CA sent a challenge whose 'url' is a number, not a string"):
        run_md(persist(make_cfg, ["new.example.org"]))


def test_challenge_accounturi_equal_to_the_account_is_fine(persist_ca, dns, make_cfg, run_md, store):
    zone, _asked = dns
    with pytest.raises(ChallengeError):
        run_md(persist(make_cfg))
    url = account_url(store, persist_ca)
    persist_ca.persist_challenge = {"issuer-domain-names": [ISSUER], "accounturi": url}
    zone["_validation-persist.www.example.org"] = ["%s; accounturi=%s" % (ISSUER, url)]
    assert run_md(persist(make_cfg), force=True).changed


def test_ca_refusal_comes_with_the_record_when_the_precheck_is_off(persist_ca, dns, make_cfg, run_md, store):
    persist_ca.validator = lambda ctype, domain, token, keyauth: "No TXT records found for DNS-PERSIST-01 challenge"
    with pytest.raises(OrderDeadError) as failed:
        run_md(persist(make_cfg, dns_persist_precheck=False))
    message = str(failed.value)
    assert message.startswith("CA refused validation of www.example.org: unauthorized: No TXT records found")
    assert 'the CA expects _validation-persist.www.example.org. IN TXT "%s; accounturi=%s" (the pre-check is off' \
        % (ISSUER, account_url(store, persist_ca)) in message
    assert dns[1] == []  # nothing looked up


def test_without_dnspython_the_ca_checks_alone_and_says_so(persist_ca, dns, make_cfg, run_md, monkeypatch):
    monkeypatch.setattr(dnsquery, "HAVE_DNSPYTHON", False)
    persist_ca.validator = lambda *_args: "No TXT records found for DNS-PERSIST-01 challenge"
    with pytest.raises(OrderDeadError, match=r"\(no pre-check: dnspython \(Debian: python3-dnspython\) is not "
                                             r"installed\)"):
        run_md(persist(make_cfg))
    assert dns[1] == []


def test_lookup_failure_is_clear_and_sends_nothing(persist_ca, make_cfg, run_md, monkeypatch):
    def broken(name, servers, timeout):
        raise dnsquery.DnsLookupError("the TXT query for %s timed out after 10s (asked 127.0.0.1:8053)" % name)

    monkeypatch.setattr(dnsquery, "txt_values", broken)
    monkeypatch.setattr(dnsquery, "HAVE_DNSPYTHON", True)
    with pytest.raises(ChallengeError, match=r"pre-check for www.example.org could not look up its record: the TXT "
                                             r"query for _validation-persist.www.example.org timed out.*"
                                             r"dns_persist_precheck: false"):
        run_md(persist(make_cfg))
    assert persist_ca.count("challenge") == 0


def test_issuer_memory_is_per_ca_and_written_only_on_change(persist_ca, dns, make_cfg, run_md, store):
    with pytest.raises(ChallengeError):
        run_md(persist(make_cfg))
    path = memory_path(store, persist_ca.directory_url)
    before = open(path).read()
    with pytest.raises(ChallengeError):
        run_md(persist(make_cfg), force=True)
    assert open(path).read() == before
    with pytest.raises(ChallengeError, match="dns_persist_issuer 'letsencrypt.org' is not one the CA offers"):
        run_md(persist(make_cfg, dns_persist_issuer="LetsEncrypt.org."), force=True)


def test_wildcard_authorization_without_policy_is_refused_by_the_solver(clock):
    solver = DnsPersistSolver(PersistOptions(), clock, lookup=lambda *_a: [])
    task = ChallengeTask("example.org", "", "", wildcard=True, account_url="https://ca/acct/1",
                         issuer_domain_names=[ISSUER])
    with pytest.raises(ChallengeError, match=r"\*\.example\.org needs a dns-persist-01 record with policy=wildcard"):
        solver.setup(task)


@pytest.mark.parametrize("doc, error", [
    ({"domains": ["*.example.org"]}, "wildcard names need dns_persist_policy: wildcard"),
    ({"domains": ["192.0.2.1"]}, "DNS names only, not IP addresses: 192.0.2.1"),
    ({"dns_persist_policy": "subdomains"}, "dns_persist_policy: must be one of none, wildcard, not 'subdomains'"),
    ({"dns_persist_issuer": "bad name"}, "dns_persist_issuer 'bad name' is not a lower-case domain name"),
    ({"dns_persist_resolvers": ["ns1.example"]}, "invalid DNS server 'ns1.example'"),
    ({"dns_persist_resolvers": ["127.0.0.1:99999"]}, "port out of range"),
    ({"dns_persist_resolvers": "127.0.0.1"}, "dns_persist_resolvers: must be a list, not '127.0.0.1'"),
    ({"dns_persist_precheck": "yes"}, "dns_persist_precheck: must be true or false, not 'yes'"),
    ({"dns_persist_until": "next year"}, "neither unix seconds nor an ISO 8601 time"),
    ({"dns_persist_until": True}, "must be a time"),
])
def test_config_errors(make_cfg, doc, error):
    doc = dict(doc)
    names = doc.pop("domains", ["www.example.org"])
    with pytest.raises(ConfigError, match=error.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        make_cfg(names, challenge="dns-persist-01", **doc)


def test_config_values():
    assert persist_until(1767225600) == persist_until("1767225600") == persist_until("2026-01-01T00:00:00Z") \
        == persist_until("2026-01-01") == 1767225600
    assert persist_until(None) is None and persist_until("") is None
    assert dnsquery.parse_nameserver("[2001:db8::53]:5353") == dnsquery.Nameserver("2001:db8::53", 5353)
    assert str(dnsquery.parse_nameserver("2001:db8::53")) == "[2001:db8::53]"
    assert str(dnsquery.parse_nameserver("192.0.2.1:53")) == "192.0.2.1"
