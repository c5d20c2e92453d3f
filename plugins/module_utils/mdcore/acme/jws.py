"""JSON Web Signatures for ACME (RFC 7515 flattened JSON, RFC 8555 section 6.2).

Signing is done with cryptography directly (ES256/ES384/RS256), and so are the public JWK (RFC
7517/7518: EC coordinates at full length, RSA integers without leading zeros) and its RFC 7638
thumbprint: a few lines instead of josepy, whose import (with pyOpenSSL) cost every run 25 ms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..errors import ConfigError
from ..options.domain import DEFAULT_EAB_ALG


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode())


def public_jwk(public_key) -> dict:
    """The JWK of an EC (P-256, P-384) or RSA public key, members in RFC 7638's order."""
    numbers = public_key.public_numbers()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        return {"crv": "P-%d" % public_key.curve.key_size, "kty": "EC",
                "x": b64(numbers.x.to_bytes(size, "big")), "y": b64(numbers.y.to_bytes(size, "big"))}
    return {"e": b64(_unsigned(numbers.e)), "kty": "RSA", "n": b64(_unsigned(numbers.n))}


def _unsigned(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canon = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canon.encode()).digest())


class AccountKey:
    """An account's private key with its JWS algorithm, public JWK and thumbprint."""

    def __init__(self, key) -> None:
        self.key = key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            bits = key.curve.key_size
            if bits == 256:
                self.alg, self._hash, self._size = "ES256", hashes.SHA256(), 32
            elif bits == 384:
                self.alg, self._hash, self._size = "ES384", hashes.SHA384(), 48
            else:
                raise ConfigError("unsupported EC curve for an ACME account key: %s" % key.curve.name)
        elif isinstance(key, rsa.RSAPrivateKey):
            self.alg, self._hash, self._size = "RS256", hashes.SHA256(), 0
        else:
            raise ConfigError("unsupported account key type")
        self._jwk = public_jwk(key.public_key())
        self._thumbprint = jwk_thumbprint(self._jwk)

    def __repr__(self) -> str:  # never show key material
        return "AccountKey(%s, thumbprint=%s)" % (self.alg, self.thumbprint())

    @property
    def public_jwk(self) -> dict:
        return dict(self._jwk)

    def thumbprint(self) -> str:
        return self._thumbprint

    def sign(self, data: bytes) -> bytes:
        if self._size:
            der = self.key.sign(data, ec.ECDSA(self._hash))
            r, s = decode_dss_signature(der)
            return r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")
        return self.key.sign(data, padding.PKCS1v15(), self._hash)


def sign_request(key: AccountKey, url: str, payload: Any, nonce: str | None, kid: str | None) -> dict:
    """A flattened JWS: ``payload`` None means POST-as-GET (empty payload)."""
    protected: dict[str, Any] = {"alg": key.alg, "url": url}
    if nonce is not None:
        protected["nonce"] = nonce
    if kid:
        protected["kid"] = kid
    else:
        protected["jwk"] = key.public_jwk
    protected_b64 = b64_json(protected)
    payload_b64 = "" if payload is None else b64_json(payload)
    signature = key.sign(("%s.%s" % (protected_b64, payload_b64)).encode())
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


def eab_binding(key: AccountKey, kid: str, hmac_key_b64: str, url: str, alg: str = DEFAULT_EAB_ALG) -> dict:
    """External Account Binding (RFC 8555 7.3.4): the account JWK signed with the CA's MAC key."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
    if digest is None:
        raise ConfigError("unsupported EAB MAC algorithm %r" % alg)
    # josepy's decoder skips characters outside the alphabet, so a typo would silently become
    # another key (and an opaque 'unauthorized' from the CA): check first. '+' and '/' are
    # accepted because some CAs hand out the key in standard base64.
    raw = (hmac_key_b64 or "").strip().rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_+/-]+", raw):
        raise ConfigError("EAB HMAC key is not valid base64url")
    try:
        mac_key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise ConfigError("EAB HMAC key is not valid base64url") from None
    protected_b64 = b64_json({"alg": alg, "kid": kid, "url": url})
    payload_b64 = b64_json(key.public_jwk)
    mac = hmac.new(mac_key, ("%s.%s" % (protected_b64, payload_b64)).encode(), digest).digest()
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(mac)}


def key_authorization(key: AccountKey, token: str) -> str:
    return "%s.%s" % (token, key.thumbprint())


def dns01_txt_value(key: AccountKey, token: str) -> str:
    return b64(hashlib.sha256(key_authorization(key, token).encode()).digest())
