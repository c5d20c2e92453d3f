"""The bundle format: strict parsing of hostile input, each failure a BundleError that names what
is wrong, never a traceback, never the private key's text."""

from __future__ import annotations

import json
import re

import pytest

from mdcore.fleet.bundle import (
    MAX_BUNDLE_BYTES,
    AccountBundle,
    BundleError,
    SetBundle,
    account_bundle,
    parse_bundle,
)

from .conftest import ISSUER, MD, edit

PEM_BODY = re.compile(r"^[A-Za-z0-9+/=]{40,}$", re.M)


def key_lines(data: bytes) -> list[str]:
    """The base64 lines of every private key in the bundle: none may show up in any message."""
    doc = json.loads(data)
    lines = []
    for per in doc.get("files", {}).values():
        lines += PEM_BODY.findall(per["privkey.pem"])
    return lines


def assert_no_key_text(text: str, data: bytes) -> None:
    assert "PRIVATE KEY" not in text
    for line in key_lines(data):
        assert line not in text


def test_a_set_bundle_parses_and_hides_its_keys(parsed_bundle: bytes) -> None:
    parsed = parse_bundle(parsed_bundle)
    assert isinstance(parsed, SetBundle)
    assert (parsed.md, parsed.issuer, parsed.key_types) == (MD, ISSUER, ["p256", "rsa2048"])
    assert sorted(parsed.set_info["names"]) == ["shop.example", "www.shop.example"]
    assert_no_key_text(repr(parsed) + repr(parsed.files) + repr(list(parsed.files.values())), parsed_bundle)


def set_value(path: str, value):
    """A change that sets doc[a][b]... (path 'a.b') to value."""

    def change(doc: dict) -> None:
        *parents, last = path.split("/")
        for part in parents:
            doc = doc[part]
        doc[last] = value

    return change


def drop(path: str):
    def change(doc: dict) -> None:
        *parents, last = path.split("/")
        for part in parents:
            doc = doc[part]
        del doc[last]

    return change


HOSTILE = [
    (set_value("mdfleet_bundle", 2), "bundle version 2 is not supported"),
    (set_value("mdfleet_bundle", "1"), "must be an integer"),
    (set_value("mdfleet_bundle", True), "must be an integer"),
    (drop("mdfleet_bundle"), "not an mdfleet bundle"),
    (set_value("kind", "cert"), "kind must be 'set' or 'account'"),
    (drop("files"), "set bundle lacks files"),
    (set_value("extra", 1), "set bundle has unknown key extra"),
    (set_value("issuer", 5), "issuer must be a host name"),
    (set_value("issuer", "web 1"), "issuer 'web 1' must be a host name"),
    (set_value("created", "yesterday"), "created must be an ISO 8601 time"),
    (set_value("md", "../etc"), "md must be a managed domain name"),
    (set_value("md", ["shop"]), "md must be a managed domain name"),
    (set_value("set", []), "set must be an object"),
    (set_value("set/names", "shop.example"), "set.names must be a list of strings"),
    (set_value("set/names", [1]), "set.names[0] must be a non-empty string"),
    (set_value("set/names", []), "must not be empty"),
    (set_value("set/key_types", ["rsa1024", "p256"]), "set.key_types[0] is not a key type"),
    (set_value("set/key_types", ["rsa", "p256"]), "set.key_types[0] is not a key type"),
    (set_value("set/imported", {"from": "web9"}), "set has unknown key imported"),
    (drop("set/certs"), "set lacks certs"),
    (set_value("set/ca_url", "ftp://ca"), "set.ca_url must be an http(s) URL"),
    (set_value("set/orders", []), "set.orders must map"),
    (set_value("set/md", "other"), "set.md differs from md"),
    (drop("set/certs/p256"), "set.certs must hold the facts of exactly the key types"),
    (set_value("set/certs/p256/serial", None), "set.certs.p256.serial must be a non-empty string"),
    (set_value("files", "x"), "files must be an object"),
    (drop("files/rsa2048"), "files must hold exactly the key types"),
    (set_value("files/p256", ["x"]), "files.p256 must be an object"),
    (drop("files/p256/privkey.pem"), "files.p256 lacks privkey.pem"),
    (set_value("files/p256/key.pem", "x"), "files.p256 has unknown key key.pem"),
    (set_value("files/p256/cert.pem", 5), "files.p256.cert.pem must be a non-empty string"),
    (set_value("files/p256/cert.pem", ""), "files.p256.cert.pem must be a non-empty string"),
    (set_value("files/p256/chain.pem", "\u00e9" * 10), "files.p256.chain.pem is not PEM (non-ASCII"),
    (set_value("files/p256/chain.pem", "x" * 70000), "files.p256.chain.pem is larger than"),
]


@pytest.mark.parametrize("change, message", HOSTILE, ids=[m for _c, m in HOSTILE])
def test_hostile_set_bundles_are_refused_by_name(parsed_bundle: bytes, change, message: str) -> None:
    with pytest.raises(BundleError, match=re.escape(message)) as info:
        parse_bundle(edit(parsed_bundle, change))
    assert_no_key_text(str(info.value) + repr(info.value), parsed_bundle)
    exc = info.value  # no chained exception that could carry the text it failed on
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


CORRUPT = [
    (b"", "no bundle on stdin"),
    (b"  \n", "no bundle on stdin"),
    (b"{not json", "not valid JSON: Expecting property name"),
    (b'{"mdfleet_bundle": 1, "kind": "set"', "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[]", "not an mdfleet bundle"),
    (b'"a string"', "not an mdfleet bundle"),
    (b"[" * 200000 + b"]" * 200000, "not valid JSON"),
    (b'{"mdfleet_bundle": NaN}', "not valid JSON"),
    (b'{"mdfleet_bundle": 1e999}', "must be an integer"),
    (b'{"mdfleet_bundle": 1, "kind": null}', "kind must be"),
    (b" " * (MAX_BUNDLE_BYTES + 1), "larger than"),
]


@pytest.mark.parametrize("data, message", CORRUPT, ids=["%d-%s" % (i, m) for i, (_d, m) in enumerate(CORRUPT)])
def test_corrupt_input_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(BundleError, match=re.escape(message)):
        parse_bundle(data)


def test_a_truncated_bundle_never_shows_the_key_it_cut(parsed_bundle: bytes) -> None:
    doc = json.loads(parsed_bundle)
    text = json.dumps(doc)
    cut = text.index("PRIVATE KEY") + 200  # inside the first key
    with pytest.raises(BundleError) as info:
        parse_bundle(text[:cut].encode())
    assert_no_key_text(str(info.value), parsed_bundle)


ACCOUNT_KEY = ("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRETSECRET\n"
               "-----END PRIVATE KEY-----\n")


def account_doc(**changes) -> bytes:
    data = account_bundle(ISSUER, "2026-11-29T12:00:00Z", "https://ca.test/dir", None,
                          "https://ca.test/acct/1", ["mailto:ops@example.org"], ACCOUNT_KEY.encode())
    doc = json.loads(data)
    for key, value in changes.items():
        target = doc
        *parents, last = key.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return json.dumps(doc).encode()


def test_an_account_bundle_parses_and_hides_its_key() -> None:
    parsed = parse_bundle(account_doc())
    assert isinstance(parsed, AccountBundle)
    assert (parsed.ca_url, parsed.account_url) == ("https://ca.test/dir", "https://ca.test/acct/1")
    assert parsed.eab_kid is None
    assert "SECRET" not in repr(parsed)


@pytest.mark.parametrize("changes, message", [
    ({"account__status": "deactivated"}, "account.status must be 'valid'"),
    ({"account__url": 7}, "account.url must be a non-empty string"),
    ({"account__contact": "mailto:x"}, "account.contact must be a list"),
    ({"account__extra": 1}, "account has unknown key extra"),
    ({"ca_url": "ca.test"}, "ca_url must be an http(s) URL"),
    ({"eab_kid": 5}, "eab_kid must be a non-empty string"),
    ({"key_pem": None}, "key_pem must be a non-empty string"),
    ({"files": {}}, "account bundle has unknown key files"),
])
def test_hostile_account_bundles(changes: dict, message: str) -> None:
    with pytest.raises(BundleError, match=re.escape(message)) as info:
        parse_bundle(account_doc(**changes))
    assert "SECRET" not in str(info.value)
