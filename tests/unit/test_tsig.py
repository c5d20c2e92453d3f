"""TSIG keys: key files as tsig-keygen, ddns-confgen and keymgr -t write them; algorithm and
secret checks; the secret never appears in a repr or an error."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mdcore.dnsclient.tsig import TsigKey, load_key_file, make_key, parse_key_file
from mdcore.errors import ConfigError

SECRET = base64.b64encode(bytes(range(32))).decode()
SLASHES = "ab//cd/+" + "A" * 36  # a base64 secret holding "//" (not a comment inside quotes)

TSIG_KEYGEN = f"""key "acme-update.example.org" {{
\talgorithm hmac-sha512;
\tsecret "{SECRET}";
}};
"""
KNOT_KEYMGR = f"""# hmac-sha256:acme-knot:{SECRET}
key:
  - id: acme-knot
    algorithm: hmac-sha256
    secret: {SECRET}
"""


def test_bind_key_file() -> None:
    key = parse_key_file(TSIG_KEYGEN, "k.key")
    assert key == TsigKey("acme-update.example.org", "hmac-sha512", bytes(range(32)))


def test_bind_key_file_with_comments_and_two_keys() -> None:
    text = f"""// made by tsig-keygen
    # another comment style
    /* block
       comment key "fake" {{ algorithm hmac-md5; secret "x"; }}; */
    key "first" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
    key second. {{ secret "{SLASHES}"; algorithm HMAC-SHA384; }}; // trailing
    """
    assert parse_key_file(text, "k", "second").secret == base64.b64decode(SLASHES)
    assert parse_key_file(text, "k", "second").algorithm == "hmac-sha384"
    assert parse_key_file(text, "k", "FIRST.").name == "first"
    with pytest.raises(ConfigError, match=r"k: the file holds several keys \(first, second\): set key_name"):
        parse_key_file(text, "k")
    with pytest.raises(ConfigError, match=r"k: no key named third \(the file holds first, second\)"):
        parse_key_file(text, "k", "third")


def test_knot_keymgr_output() -> None:
    assert parse_key_file(KNOT_KEYMGR, "k") == TsigKey("acme-knot", "hmac-sha256", bytes(range(32)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing here", "no TSIG key in the file"),
        ('key "k" { algorithm hmac-sha256; };', "key k has no secret"),
        (f'key "k" {{ secret "{SECRET}"; }};', "key k has no algorithm"),
        (f'key "k" {{ algorithm hmac-md5; secret "{SECRET}"; }};', "TSIG algorithm hmac-md5 is too weak"),
        (f'key "k" {{ algorithm hmac-sha1; secret "{SECRET}"; }};', "TSIG algorithm hmac-sha1 is too weak"),
        (f'key "k" {{ algorithm hmac-sha3; secret "{SECRET}"; }};', "unknown TSIG algorithm 'hmac-sha3'"),
        ('key "k" { algorithm hmac-sha256; secret "not*base64"; };', "the TSIG secret is not base64"),
        ('key "k" { algorithm hmac-sha256; secret "c2hvcnQ="; };', "is 5 bytes long; use at least 16"),
    ],
)
def test_bad_key_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_key_file(text, "/etc/mdfleet/k.key")


def test_key_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "acme.key"
    path.write_text(TSIG_KEYGEN)
    assert load_key_file(str(path)).name == "acme-update.example.org"
    with pytest.raises(ConfigError, match=r"cannot read the TSIG key file .*nope.key: No such file"):
        load_key_file(str(tmp_path / "nope.key"))
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not text"):
        load_key_file(str(path))


def test_the_secret_is_never_shown() -> None:
    key = make_key("acme", "hmac-sha256", SECRET, "rfc2136")
    assert SECRET not in repr(key) and SECRET not in str(key)
    assert "acme" in repr(key)
    for bad in (SECRET + "*", SECRET[:8]):
        with pytest.raises(ConfigError) as info:
            make_key("acme", "hmac-sha256", bad, "rfc2136.key_secret")
        assert bad not in str(info.value) and SECRET[:8] not in str(info.value)


@pytest.mark.parametrize("name", ["", "has space", "a..b", "x" * 64, "bad/char"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a TSIG key name"):
        make_key(name, "hmac-sha256", SECRET, "rfc2136.key_name")
