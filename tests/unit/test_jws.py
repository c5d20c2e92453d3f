"""JWS signing (RFC 7515/8555), JWK thumbprints (RFC 7638) and EAB bindings, checked independently
with cryptography (the fake CA's verifier) rather than with the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mdcore.acme.jws import AccountKey, dns01_txt_value, eab_binding, key_authorization, public_jwk, sign_request
from mdcore.acme.jws import jwk_thumbprint as engine_thumbprint
from mdcore.errors import ConfigError

from .fakeacme import b64u, b64u_decode, jwk_thumbprint, verify_jws_signature

# RFC 7638 section 3.1
RFC7638_JWK = {
    "kty": "RSA",
    "e": "AQAB",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWK"
        "RXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
        "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3"
        "XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

KEYS = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def _decode(jws: dict) -> tuple[dict, bytes, bytes]:
    return (
        json.loads(b64u_decode(jws["protected"])),
        b64u_decode(jws["payload"]),
        b64u_decode(jws["signature"]),
    )


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_signature_verifies_with_cryptography(alg: str) -> None:
    key = AccountKey(KEYS[alg]())
    jws = sign_request(
        key, "https://ca.test/new-order", {"identifiers": []}, "n0nce", "https://ca.test/acct/1"
    )
    protected, payload, signature = _decode(jws)
    assert protected == {
        "alg": alg,
        "url": "https://ca.test/new-order",
        "nonce": "n0nce",
        "kid": "https://ca.test/acct/1",
    }
    assert json.loads(payload) == {"identifiers": []}
    signing_input = ("%s.%s" % (jws["protected"], jws["payload"])).encode()
    assert verify_jws_signature(alg, key.public_jwk, signing_input, signature)
    tampered = signing_input.replace(b".", b".x", 1)
    assert not verify_jws_signature(alg, key.public_jwk, tampered, signature)


def test_jwk_instead_of_kid_and_post_as_get() -> None:
    key = AccountKey(KEYS["ES256"]())
    jws = sign_request(key, "https://ca.test/order/1", None, "n", None)
    protected, payload, _sig = _decode(jws)
    assert jws["payload"] == "" and payload == b""
    assert protected["jwk"] == key.public_jwk and "kid" not in protected


def test_no_nonce_header_when_none_given() -> None:  # inner keyChange JWS
    protected, _p, _s = _decode(sign_request(AccountKey(KEYS["ES256"]()), "https://x/", {}, None, None))
    assert "nonce" not in protected


def test_thumbprint_rfc7638_vector() -> None:
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT  # the test's own implementation is right
    pub = rsa.RSAPublicNumbers(
        int.from_bytes(b64u_decode(RFC7638_JWK["e"]), "big"),
        int.from_bytes(b64u_decode(RFC7638_JWK["n"]), "big"),
    ).public_key()
    assert public_jwk(pub) == {k: RFC7638_JWK[k] for k in ("e", "kty", "n")}  # the RFC gives the public key only
    assert engine_thumbprint(public_jwk(pub)) == RFC7638_THUMBPRINT


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_thumbprint_matches_independent_computation(alg: str) -> None:
    key = AccountKey(KEYS[alg]())
    assert key.thumbprint() == jwk_thumbprint(key.public_jwk)
    assert key_authorization(key, "tok") == "tok." + key.thumbprint()
    want = b64u(hashlib.sha256(("tok." + key.thumbprint()).encode()).digest())
    assert dns01_txt_value(key, "tok") == want


def test_ec_coordinates_keep_leading_zero_bytes() -> None:
    """RFC 7518 6.2.1.2: x and y are full-length; a stripped leading zero breaks thumbprints at the CA."""
    for _attempt in range(3000):
        priv = ec.generate_private_key(ec.SECP256R1())
        nums = priv.public_key().public_numbers()
        if nums.x < 2**248 or nums.y < 2**248:
            break
    else:  # pragma: no cover - probability ~1e-5
        pytest.skip("no key with a short coordinate found")
    jwk = AccountKey(priv).public_jwk
    assert len(b64u_decode(jwk["x"])) == 32 and len(b64u_decode(jwk["y"])) == 32
    assert b64u_decode(jwk["x"]) == nums.x.to_bytes(32, "big")


def test_unsupported_curve_rejected() -> None:
    with pytest.raises(ConfigError):
        AccountKey(ec.generate_private_key(ec.SECP521R1()))


def test_repr_shows_no_key_material() -> None:
    key = AccountKey(KEYS["ES256"]())
    assert "ES256" in repr(key) and "PRIVATE" not in repr(key)


@pytest.mark.parametrize("alg,digest", [("HS256", hashlib.sha256), ("HS512", hashlib.sha512)])
def test_eab_binding_hmac(alg: str, digest) -> None:
    key = AccountKey(KEYS["ES256"]())
    mac_key = b"\x01secret-mac-key\xff"
    binding = eab_binding(key, "kid-1", b64u(mac_key), "https://ca.test/new-acct", alg)
    protected, payload, signature = _decode(binding)
    assert protected == {"alg": alg, "kid": "kid-1", "url": "https://ca.test/new-acct"}
    assert json.loads(payload) == key.public_jwk
    want = hmac.new(mac_key, ("%s.%s" % (binding["protected"], binding["payload"])).encode(), digest).digest()
    assert signature == want


def test_eab_key_in_standard_base64_is_accepted() -> None:
    key = AccountKey(KEYS["ES256"]())
    mac_key = bytes(range(250, 256)) * 6  # encodes with '+' and '/' in standard base64
    std = base64.b64encode(mac_key).decode()
    assert "+" in std or "/" in std
    assert eab_binding(key, "k", std, "u") == eab_binding(key, "k", b64u(mac_key), "u")


@pytest.mark.parametrize("bad", ["", "!!!", "not base64 at all", "abcde"])
def test_eab_key_that_is_not_base64_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="EAB HMAC key"):
        eab_binding(AccountKey(KEYS["ES256"]()), "kid", bad, "https://ca.test/new-acct")


def test_eab_unknown_alg() -> None:
    with pytest.raises(ConfigError, match="HS1"):
        eab_binding(AccountKey(KEYS["ES256"]()), "kid", b64u(b"k"), "u", "HS1")


def test_signature_helper_rejects_wrong_key_type() -> None:
    rsa_key = AccountKey(KEYS["RS256"]())
    jws = sign_request(rsa_key, "u", {}, "n", "k")
    signing_input = ("%s.%s" % (jws["protected"], jws["payload"])).encode()
    ec_jwk = AccountKey(KEYS["ES256"]()).public_jwk
    assert not verify_jws_signature("RS256", ec_jwk, signing_input, b64u_decode(jws["signature"]))
    assert not verify_jws_signature("ES256", rsa_key.public_jwk, signing_input, b64u_decode(jws["signature"]))


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_jwk_and_thumbprint_equal_josepys(alg: str) -> None:
    """The engine computes them itself now; josepy (what it used before) is the reference."""
    josepy = pytest.importorskip("josepy")
    key = AccountKey(KEYS[alg]())
    theirs = (josepy.JWKEC if alg.startswith("ES") else josepy.JWKRSA)(key=key.key.public_key())
    assert key.public_jwk == theirs.to_partial_json()
    assert key.thumbprint() == b64u(theirs.thumbprint(hash_function=hashes.SHA256))
