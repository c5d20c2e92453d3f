"""JSON Web Signatures for ACME (RFC 7515 flattened JSON, RFC 8555 section 6.2).

Signing is done with cryptography directly (ES256/ES384/RS256); josepy provides the JWK
representation and thumbprints, which works the same on josepy 1.13 and 2.x.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

try:
    import josepy
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..errors import ConfigError


def b64(data: bytes) -> str:
    return josepy.b64.b64encode(data).decode()


def b64_json(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode())


def b64_decode(text: str) -> bytes:
    return josepy.b64.b64decode(text)


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
            self._jwk = josepy.JWKEC(key=key.public_key())
        elif isinstance(key, rsa.RSAPrivateKey):
            self.alg, self._hash, self._size = "RS256", hashes.SHA256(), 0
            self._jwk = josepy.JWKRSA(key=key.public_key())
        else:
            raise ConfigError("unsupported account key type")

    def __repr__(self) -> str:  # never show key material
        return "AccountKey(%s, thumbprint=%s)" % (self.alg, self.thumbprint())

    @property
    def public_jwk(self) -> dict:
        return self._jwk.to_partial_json() if hasattr(self._jwk, "to_partial_json") else self._jwk.to_json()

    def thumbprint(self) -> str:
        return b64(self._jwk.thumbprint(hash_function=hashes.SHA256))

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


def eab_binding(key: AccountKey, kid: str, hmac_key_b64: str, url: str, alg: str = "HS256") -> dict:
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
