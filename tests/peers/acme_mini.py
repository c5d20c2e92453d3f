"""A deliberately minimal ACME client (ES256, no retries beyond badNonce) that checks the
harness wiring: pebble -> challtestsrv DNS -> nginx / standalone / TXT. It is a test oracle,
independent of the engine on purpose; the engine's own tests use the engine.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from .wait import poll

# solve(challenge_type, domain, token, key_authorization): publish the answer.
Solver = Callable[[str, str, str, str], None]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def dns01_value(key_authorization: str) -> str:
    return b64(hashlib.sha256(key_authorization.encode()).digest())


class MiniAcme:
    def __init__(self, directory_url: str, ca_bundle: str) -> None:
        self.http = requests.Session()
        # Per request, not Session.verify: an exported REQUESTS_CA_BUNDLE (set on these machines)
        # silently overrides Session.verify (requests issue #3829).
        self.verify = ca_bundle
        self.directory: dict[str, Any] = self.http.get(directory_url, timeout=5, verify=ca_bundle).json()
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64(nums.x.to_bytes(32, "big")),
                    "y": b64(nums.y.to_bytes(32, "big"))}  # fmt: skip
        self.kid: str | None = None
        self.nonce: str | None = None

    @property
    def thumbprint(self) -> str:
        return b64(
            hashlib.sha256(json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
        )

    def post(self, url: str, payload: dict[str, Any] | None) -> requests.Response:
        """Signed POST (payload None = POST-as-GET); retries badNonce a few times."""
        for _attempt in range(10):
            if not self.nonce:
                self.nonce = self.http.head(
                    self.directory["newNonce"], timeout=5, verify=self.verify
                ).headers["Replay-Nonce"]
            protected: dict[str, Any] = {"alg": "ES256", "nonce": self.nonce, "url": url}
            protected.update({"kid": self.kid} if self.kid else {"jwk": self.jwk})
            p64 = b64(json.dumps(protected).encode())
            body = "" if payload is None else b64(json.dumps(payload).encode())
            r, s = decode_dss_signature(self.key.sign(f"{p64}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
            resp = self.http.post(
                url,
                data=json.dumps(
                    {
                        "protected": p64,
                        "payload": body,
                        "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
                    }
                ),
                headers={"Content-Type": "application/jose+json"},
                timeout=10,
                verify=self.verify,
            )
            self.nonce = resp.headers.get("Replay-Nonce")
            if resp.status_code == 400 and resp.json().get("type") == "urn:ietf:params:acme:error:badNonce":
                continue
            return resp
        raise RuntimeError("badNonce 10 times in a row")

    def register(self) -> requests.Response:
        resp = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True})
        if resp.status_code in (200, 201):
            self.kid = resp.headers["Location"]
        return resp

    def _wait_status(self, url: str, done: set[str], timeout: float) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            obj: dict[str, Any] = self.post(url, None).json()
            if obj.get("status") == "invalid":
                raise RuntimeError(f"{url} is invalid: {obj}")
            return obj if obj.get("status") in done else None

        return poll(check, timeout, f"ACME object {url}", interval=0.1)

    def issue(
        self,
        domains: list[str],
        solve: Solver,
        challenge_type: str = "http-01",
        timeout: float = 30,
        profile: str | None = None,
    ) -> str:
        """Order, solve with `solve`, finalize; returns the PEM chain (leaf first)."""
        if not self.kid:
            self.register().raise_for_status()
        payload: dict[str, Any] = {"identifiers": [{"type": "dns", "value": d} for d in domains]}
        if profile:
            payload["profile"] = profile
        resp = self.post(self.directory["newOrder"], payload)
        resp.raise_for_status()
        order_url, order = resp.headers["Location"], resp.json()
        for authz_url in order["authorizations"]:
            authz = self.post(authz_url, None).json()
            if authz["status"] == "valid":
                continue
            chall = next(c for c in authz["challenges"] if c["type"] == challenge_type)
            solve(
                challenge_type,
                authz["identifier"]["value"],
                chall["token"],
                f"{chall['token']}.{self.thumbprint}",
            )
            self.post(chall["url"], {}).raise_for_status()
            self._wait_status(authz_url, {"valid"}, timeout)
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
            .sign(key, hashes.SHA256())
        )
        self.post(
            order["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))}
        ).raise_for_status()
        order = self._wait_status(order_url, {"valid"}, timeout)
        return self.post(order["certificate"], None).text
