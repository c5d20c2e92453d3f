"""A minimal in-memory ACME server (RFC 8555) behind the engine's HTTP interface, with fault injection.

It is strict where it matters for the client's correctness: every POST must be a flattened JWS
whose signature verifies (ES256/ES384/RS256), whose ``url`` header is the request URL and whose
``nonce`` is one this server issued and nobody used yet; kid/jwk are used as RFC 8555 6.2 says;
EAB bindings and keyChange inner JWS are verified; CSRs must match the order. Every response
carries a fresh Replay-Nonce.

Faults: :meth:`FakeAcme.inject` queues replies (or exceptions to raise) for one kind of request;
attributes switch behaviours (stuck orders, failed validations, a certificate for another key).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import itertools
import json
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mdcore.clock import Clock, Deadline
from mdcore.net import Headers, HttpReply, Transport

from .testca import TestCA

ACME = "urn:ietf:params:acme:error:"
PEM_CHAIN = "application/pem-certificate-chain"


# -- encoding helpers ------------------------------------------------------------------------------
def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(text: str) -> int:
    return int.from_bytes(b64u_decode(text), "big")


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638, computed here independently of the engine (and of josepy)."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canon = json.dumps({k: jwk[k] for k in members}, sort_keys=True, separators=(",", ":"))
    return b64u(hashlib.sha256(canon.encode()).digest())


def public_key_from_jwk(jwk: dict):
    if jwk.get("kty") == "EC":
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), curve).public_key()
    if jwk.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    raise ValueError("unsupported jwk %r" % jwk)


def verify_jws_signature(alg: str, jwk: dict, signing_input: bytes, signature: bytes) -> bool:
    key = public_key_from_jwk(jwk)
    try:
        if alg in ("ES256", "ES384"):
            size, digest = (32, hashes.SHA256()) if alg == "ES256" else (48, hashes.SHA384())
            if (
                not isinstance(key, ec.EllipticCurvePublicKey)
                or key.curve.key_size != size * 8
                or len(signature) != 2 * size
            ):
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            key.verify(der, signing_input, ec.ECDSA(digest))
        elif alg == "RS256":
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


# -- replies and faults ----------------------------------------------------------------------------
@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str -> as is
    headers: dict = field(default_factory=dict)
    nonce: bool = True  # add a fresh Replay-Nonce


def problem(
    ptype: str,
    detail: str = "",
    status: int = 400,
    *,
    identifier: str | None = None,
    subproblems: list[dict] | None = None,
    headers: dict | None = None,
) -> Reply:
    doc: dict = {"type": ptype if ":" in ptype else ACME + ptype, "detail": detail, "status": status}
    if identifier:
        doc["identifier"] = {"type": "dns", "value": identifier}
    if subproblems:
        doc["subproblems"] = subproblems
    return Reply(status, doc, dict({"Content-Type": "application/problem+json"}, **(headers or {})))


def subproblem(ptype: str, value: str, detail: str) -> dict:
    return {"type": ACME + ptype, "detail": detail, "identifier": {"type": "dns", "value": value}}


class Crash(BaseException):
    """A simulated kill -9: not an Exception, so nothing in the engine catches it."""


Fault = Reply | BaseException | Callable[["Seen"], Reply | None]


@dataclass
class Seen:
    """One request as the server saw it (after JWS decoding, when it was a POST)."""

    method: str
    kind: str
    url: str
    headers: dict
    timeout: Any = None
    verify: Any = None
    protected: dict | None = None
    payload: Any = None


# -- server state ----------------------------------------------------------------------------------
@dataclass
class Account:
    url: str
    jwk: dict
    contact: list
    eab_kid: str | None
    status: str = "valid"


@dataclass
class Authz:
    url: str
    account: str
    value: str
    wildcard: bool
    challenges: list[dict]
    status: str = "pending"
    id_type: str = "dns"
    pending_left: int = 0  # looks that still read "pending" after the challenge (validating_polls)


@dataclass
class Order:
    url: str
    account: str
    identifiers: list[dict]
    authzs: list[str]
    profile: str | None = None
    replaces: str | None = None
    status: str = "pending"
    error: dict | None = None
    cert_url: str | None = None
    processing_left: int = 0
    csr: Any = None

    def to_json(self, base: str) -> dict:
        doc: dict = {
            "status": self.status,
            "identifiers": self.identifiers,
            "authorizations": self.authzs,
            "finalize": self.url + "/finalize",
            "expires": "2099-01-01T00:00:00Z",
        }
        if self.cert_url:
            doc["certificate"] = self.cert_url
        if self.error:
            doc["error"] = self.error
        if self.profile:
            doc["profile"] = self.profile
        return doc


Validator = Callable[[str, str, str, str], str | None]  # (type, domain, token, keyauth) -> error


class FakeAcme:
    """One CA at ``base`` (e.g. https://ca.test). ``http()`` gives an HTTP transport routed to it."""

    def __init__(
        self,
        clock: Clock,
        ca: TestCA,
        base: str = "https://ca.test",
        *,
        tos: str | None = None,
        eab_keys: dict[str, bytes] | None = None,
        eab_required: bool = False,
    ) -> None:
        self.clock = clock
        self.ca = ca
        self.base = base.rstrip("/")
        self.tos = tos
        self.eab_keys = dict(eab_keys or {})
        self.eab_required = eab_required
        self.seen: list[Seen] = []
        self.faults: dict[str, list[Fault]] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.authzs: dict[str, Authz] = {}
        self.certs: dict[str, x509.Certificate] = {}
        self.nonces: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        # behaviours a test may switch
        self.lifetime = datetime.timedelta(days=90)
        self.processing_polls = 0  # order stays "processing" for this many polls after finalize
        self.stuck_processing = False  # ... or forever
        self.processing_retry_after: str | None = None
        self.validating_polls = 0  # an authorization still reads "pending" this many times after its challenge
        self.validating_retry_after: str | None = None  # ... with this Retry-After
        self.fail_validation: str | None = None  # detail of an "unauthorized" validation failure
        self.wrong_key = False  # issue the certificate for another key
        self.cert_names: list[str] | None = None  # issue for these names instead of the order's
        self.alternate_chain = True  # offer Link rel="alternate"
        self.reject: dict[str, str] = {}  # name -> detail for rejectedIdentifier
        self.webroot: str | None = None  # http-01: check <webroot>/<token>
        self.http_port: int | None = None  # http-01: fetch from 127.0.0.1:<port>
        self.txt_lookup: Callable[[str], list[str]] | None = None  # dns-01: TXT values of _acme-challenge.<d>
        self.validator: Validator | None = None  # overrides the checks above
        # dns-persist-01: offered for DNS names with these fields (e.g. {"issuer-domain-names": [...]})
        self.persist_challenge: dict | None = None
        self.junk_challenges: list = []  # entries put first into every authorization's challenges

    # -- test API ----------------------------------------------------------------------------------
    @property
    def directory_url(self) -> str:
        return self.base + "/dir"

    def url(self, path: str) -> str:
        return self.base + path

    def http(self) -> FakeHttp:
        return FakeHttp(self)

    def inject(self, kind: str, *faults: Fault) -> None:
        """Queue faults for the next requests of ``kind`` (a route name, or "post" for any POST)."""
        self.faults.setdefault(kind, []).extend(faults)

    def count(self, kind: str | None = None, method: str | None = None) -> int:
        return sum(
            1
            for s in self.seen
            if (kind is None or s.kind == kind) and (method is None or s.method == method)
        )

    def payloads(self, kind: str) -> list:
        return [s.payload for s in self.seen if s.kind == kind]

    def new_nonce(self) -> str:
        nonce = b64u(os.urandom(12))
        self.nonces.add(nonce)
        return nonce

    # -- routing -----------------------------------------------------------------------------------
    def _kind(self, method: str, path: str) -> str:
        parts = path.strip("/").split("/")
        fixed = {
            "dir": "directory",
            "nonce": "newNonce",
            "new-acct": "newAccount",
            "new-order": "newOrder",
            "key-change": "keyChange",
        }
        if len(parts) == 1 and parts[0] in fixed:
            return fixed[parts[0]]
        if parts[0] == "order" and len(parts) == 3 and parts[2] == "finalize":
            return "finalize"
        if parts[0] == "cert" and len(parts) == 3 and parts[2] == "alt":
            return "certAlt"
        return {
            "acct": "account",
            "order": "order",
            "authz": "authz",
            "chal": "challenge",
            "cert": "cert",
        }.get(parts[0], "unknown")

    def handle(
        self, method: str, url: str, headers: dict, body: bytes | None, timeout: Any, verify: Any
    ) -> Reply:
        with self._lock:
            kind = self._kind(method, urlsplit(url).path)
            seen = Seen(method, kind, url, headers, timeout, verify)
            self.seen.append(seen)
            fault = self._next_fault(kind) or (self._next_fault("post") if method == "POST" else None)
            if fault is not None:
                if isinstance(fault, BaseException):
                    raise fault
                reply = fault(seen) if callable(fault) else fault
                if reply is not None:
                    return reply
            if kind == "directory" and method == "GET":
                return Reply(200, self._directory(), nonce=False)  # as Boulder/pebble: nonces come elsewhere
            if kind == "newNonce" and method in ("HEAD", "GET"):
                return Reply(200 if method == "HEAD" else 204, b"", {"Cache-Control": "no-store"})
            if method != "POST":
                return problem("malformed", "%s not allowed here" % method, 405)
            checked = self._verify(seen, url, headers, body)
            if isinstance(checked, Reply):
                return checked
            account, payload = checked
            handler = getattr(self, "_do_" + kind, None)
            if handler is None:
                return problem("malformed", "no such resource", 404)
            return handler(seen, account, payload)

    def _next_fault(self, kind: str) -> Fault | None:
        queue = self.faults.get(kind)
        return queue.pop(0) if queue else None

    def _directory(self) -> dict:
        meta: dict = {}
        if self.tos:
            meta["termsOfService"] = self.tos
        if self.eab_required:
            meta["externalAccountRequired"] = True
        return {
            "newNonce": self.url("/nonce"),
            "newAccount": self.url("/new-acct"),
            "newOrder": self.url("/new-order"),
            "revokeCert": self.url("/revoke"),
            "keyChange": self.url("/key-change"),
            "meta": meta,
        }

    # -- JWS -----------------------------------------------------------------------------------------
    def _verify(
        self, seen: Seen, url: str, headers: dict, body: bytes | None
    ) -> Reply | tuple[Account | None, Any]:
        if headers.get("Content-Type") != "application/jose+json":
            return problem("malformed", "Content-Type must be application/jose+json", 415)
        try:
            jws = json.loads(body or b"")
            protected = json.loads(b64u_decode(jws["protected"]))
            signature = b64u_decode(jws["signature"])
            payload_b64 = jws["payload"]
        except (ValueError, KeyError, TypeError):
            return problem("malformed", "request is not a flattened JWS")
        seen.protected = protected
        if set(jws) != {"protected", "payload", "signature"}:
            return problem("malformed", "unexpected JWS members %s" % sorted(jws))
        nonce = protected.get("nonce")
        if nonce not in self.nonces:
            return problem("badNonce", "JWS has an invalid anti-replay nonce: %r" % nonce)
        self.nonces.discard(nonce)
        if protected.get("url") != url:
            return problem(
                "unauthorized", "JWS url %r is not the request URL %r" % (protected.get("url"), url), 401
            )
        if protected.get("alg") not in ("ES256", "ES384", "RS256"):
            return problem("badSignatureAlgorithm", "alg %r" % protected.get("alg"))
        if ("jwk" in protected) == ("kid" in protected):
            return problem("malformed", "exactly one of jwk and kid is required")
        account = None
        if seen.kind == "newAccount":
            if "jwk" not in protected:
                return problem("malformed", "newAccount must be signed with a jwk")
            jwk = protected["jwk"]
        else:
            if "kid" not in protected:
                return problem("malformed", "requests other than newAccount use kid")
            account = self.accounts.get(protected["kid"])
            if account is None:
                return problem("accountDoesNotExist", "no account %s" % protected["kid"], 400)
            jwk = account.jwk
        signing_input = ("%s.%s" % (jws["protected"], payload_b64)).encode()
        if not verify_jws_signature(protected["alg"], jwk, signing_input, signature):
            return problem("malformed", "JWS signature does not verify", 400)
        try:
            payload = None if payload_b64 == "" else json.loads(b64u_decode(payload_b64))
        except ValueError:
            return problem("malformed", "payload is not JSON")
        seen.payload = payload
        return account, payload

    # -- resources -----------------------------------------------------------------------------------
    def _account_by_jwk(self, jwk: dict) -> Account | None:
        want = jwk_thumbprint(jwk)
        return next((a for a in self.accounts.values() if jwk_thumbprint(a.jwk) == want), None)

    def _do_newAccount(self, seen: Seen, _account: None, payload: dict) -> Reply:
        jwk = (seen.protected or {})["jwk"]
        existing = self._account_by_jwk(jwk)
        if existing is not None:
            return Reply(
                200, {"status": existing.status, "contact": existing.contact}, {"Location": existing.url}
            )
        if payload.get("onlyReturnExisting"):
            return problem("accountDoesNotExist", "no account for this key")
        if self.tos and payload.get("termsOfServiceAgreed") is not True:
            return problem("userActionRequired", "must agree to terms of service", 403)
        for contact in payload.get("contact", []):
            if not contact.startswith("mailto:"):
                return problem("invalidContact", "contact %r is not mailto:" % contact)
        eab = payload.get("externalAccountBinding")
        eab_kid = None
        if eab is not None:
            error = self._check_eab(eab, jwk)
            if error:
                return problem("unauthorized", "external account binding: " + error, 403)
            eab_kid = json.loads(b64u_decode(eab["protected"]))["kid"]
        elif self.eab_required:
            return problem("externalAccountRequired", "this CA requires external account binding", 403)
        url = self.url("/acct/%d" % next(self._ids))
        self.accounts[url] = Account(url, jwk, list(payload.get("contact", [])), eab_kid)
        return Reply(201, {"status": "valid", "contact": payload.get("contact", [])}, {"Location": url})

    def _check_eab(self, eab: dict, jwk: dict) -> str | None:
        try:
            protected = json.loads(b64u_decode(eab["protected"]))
            inner_payload = json.loads(b64u_decode(eab["payload"]))
            mac = b64u_decode(eab["signature"])
        except (KeyError, ValueError, TypeError):
            return "not a JWS"
        if protected.get("alg") != "HS256" or "nonce" in protected or "jwk" in protected:
            return "bad protected header %r" % protected
        if protected.get("url") != self.url("/new-acct"):
            return "url is not newAccount"
        key = self.eab_keys.get(protected.get("kid", ""))
        if key is None:
            return "unknown kid %r" % protected.get("kid")
        if inner_payload != jwk:
            return "payload is not the account key"
        want = hmac.new(key, ("%s.%s" % (eab["protected"], eab["payload"])).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, mac):
            return "HMAC does not verify"
        return None

    def _do_account(self, seen: Seen, account: Account, payload: Any) -> Reply:
        if seen.url != account.url:
            return problem("unauthorized", "not your account", 403)
        return Reply(200, {"status": account.status, "contact": account.contact})

    def _do_keyChange(self, seen: Seen, account: Account, payload: dict) -> Reply:
        try:
            inner_protected = json.loads(b64u_decode(payload["protected"]))
            inner_sig = b64u_decode(payload["signature"])
            inner_payload = json.loads(b64u_decode(payload["payload"]))
        except (KeyError, ValueError, TypeError):
            return problem("malformed", "keyChange payload is not a JWS")
        new_jwk = inner_protected.get("jwk")
        if not new_jwk or "kid" in inner_protected or "nonce" in inner_protected:
            return problem("malformed", "inner JWS needs jwk, no kid, no nonce")
        if inner_protected.get("url") != seen.url:
            return problem("malformed", "inner url differs from outer url")
        signing_input = ("%s.%s" % (payload["protected"], payload["payload"])).encode()
        if not verify_jws_signature(inner_protected.get("alg", ""), new_jwk, signing_input, inner_sig):
            return problem("malformed", "inner JWS signature does not verify")
        if inner_payload.get("account") != account.url:
            return problem("malformed", "inner payload names another account")
        if jwk_thumbprint(
            inner_payload.get("oldKey") or {"kty": "EC", "crv": "", "x": "", "y": ""}
        ) != jwk_thumbprint(account.jwk):
            return problem("malformed", "oldKey is not the account's key")
        if self._account_by_jwk(new_jwk) is not None:
            return problem("malformed", "new key is in use", 409)
        account.jwk = new_jwk
        return Reply(200, {"status": account.status})

    def _do_newOrder(self, seen: Seen, account: Account, payload: dict) -> Reply:
        idents = payload.get("identifiers") or []
        rejected = [i["value"] for i in idents if i.get("value") in self.reject]
        if rejected:
            subs = [subproblem("rejectedIdentifier", v, self.reject[v]) for v in rejected]
            return problem("rejectedIdentifier", "Error creating new order", 400, subproblems=subs)
        order_id = next(self._ids)
        order_url = self.url("/order/%d" % order_id)
        authz_urls = []
        for ident in idents:
            value = ident["value"]
            wildcard = value.startswith("*.")
            base_value = value[2:] if wildcard else value
            authz_url = self.url("/authz/%d" % next(self._ids))
            types = (
                ["dns-01"]
                if wildcard
                else ["http-01"]
                if ident.get("type") == "ip"
                else ["http-01", "dns-01"]
            )
            challenges = [
                {
                    "type": t,
                    "url": self.url("/chal/%d" % next(self._ids)),
                    "status": "pending",
                    "token": b64u(os.urandom(16)),
                }
                for t in types
            ]
            if self.persist_challenge is not None and ident.get("type", "dns") == "dns":
                challenges.append(dict({"type": "dns-persist-01", "status": "pending",
                                        "url": self.url("/chal/%d" % next(self._ids))}, **self.persist_challenge))
            challenges = self.junk_challenges + challenges
            self.authzs[authz_url] = Authz(
                authz_url, account.url, base_value, wildcard, challenges, id_type=ident.get("type", "dns")
            )
            authz_urls.append(authz_url)
        order = Order(
            order_url, account.url, idents, authz_urls, payload.get("profile"), payload.get("replaces")
        )
        self.orders[order_url] = order
        return Reply(201, order.to_json(self.base), {"Location": order_url})

    def _owned(self, obj: Any, account: Account) -> Reply | None:
        if obj is None:
            return problem("malformed", "no such resource", 404)
        if obj.account != account.url:
            return problem("unauthorized", "resource belongs to another account", 403)
        return None

    def _do_order(self, seen: Seen, account: Account, payload: Any) -> Reply:
        order = self.orders.get(seen.url)
        bad = self._owned(order, account)
        if bad:
            return bad
        assert order is not None
        headers = {}
        if order.status == "processing":
            if self.processing_retry_after:
                headers["Retry-After"] = self.processing_retry_after
            if not self.stuck_processing:
                if order.processing_left <= 0:
                    self._issue(order)
                else:
                    order.processing_left -= 1
        return Reply(200, order.to_json(self.base), headers)

    def _do_authz(self, seen: Seen, account: Account, payload: Any) -> Reply:
        authz = self.authzs.get(seen.url)
        bad = self._owned(authz, account)
        if bad:
            return bad
        assert authz is not None
        if authz.pending_left > 0:  # still validating (validating_polls)
            authz.pending_left -= 1
            headers = {"Retry-After": self.validating_retry_after} if self.validating_retry_after else {}
            return Reply(200, dict(self._authz_json(authz), status="pending"), headers)
        return Reply(200, self._authz_json(authz))

    @staticmethod
    def _authz_json(authz: Authz) -> dict:
        doc = {
            "status": authz.status,
            "identifier": {"type": authz.id_type, "value": authz.value},
            "challenges": authz.challenges,
            "expires": "2099-01-01T00:00:00Z",
        }
        if authz.wildcard:
            doc["wildcard"] = True
        return doc

    def _do_challenge(self, seen: Seen, account: Account, payload: Any) -> Reply:
        for authz in self.authzs.values():
            for chal in authz.challenges:
                if isinstance(chal, dict) and chal.get("url") == seen.url:
                    if authz.account != account.url:
                        return problem("unauthorized", "not your challenge", 403)
                    if payload != {}:
                        return problem("malformed", "challenge response must be {}")
                    if chal["status"] == "pending" and authz.status == "pending":
                        self._validate(authz, chal, account)
                    return Reply(200, chal, {"Link": '<%s>;rel="up"' % authz.url})
        return problem("malformed", "no such challenge", 404)

    def _validate(self, authz: Authz, chal: dict, account: Account) -> None:
        authz.pending_left = self.validating_polls
        keyauth = "%s.%s" % (chal.get("token", ""), jwk_thumbprint(account.jwk))
        error = self.fail_validation or self._check(chal["type"], authz.value, chal.get("token", ""), keyauth)
        if error is None:
            chal["status"] = authz.status = "valid"
            chal["validated"] = "2026-11-29T12:00:00Z"
        else:
            chal["status"] = authz.status = "invalid"
            chal["error"] = {"type": ACME + "unauthorized", "detail": error, "status": 403}
        for order in self.orders.values():
            if authz.url in order.authzs and order.status == "pending":
                states = [self.authzs[u].status for u in order.authzs]
                if "invalid" in states:
                    order.status = "invalid"
                    order.error = {"type": ACME + "unauthorized", "detail": error, "status": 403}
                elif all(s == "valid" for s in states):
                    order.status = "ready"

    def _check(self, ctype: str, domain: str, token: str, keyauth: str) -> str | None:
        if self.validator is not None:
            return self.validator(ctype, domain, token, keyauth)
        if ctype == "http-01" and self.webroot is not None:
            try:
                with open(os.path.join(self.webroot, token), "rb") as handle:
                    got = handle.read().decode()
            except OSError as exc:
                return "http-01 token file: %s" % exc
            return None if got == keyauth else "http-01: got %r, want %r" % (got, keyauth)
        if ctype == "http-01" and self.http_port is not None:
            url = "http://127.0.0.1:%s/.well-known/acme-challenge/%s" % (self.http_port, token)
            try:
                got = urllib.request.urlopen(url, timeout=5).read().decode()  # loopback
            except OSError as exc:
                return "http-01 fetch %s: %s" % (url, exc)
            return None if got == keyauth else "http-01: got %r" % got
        if ctype == "dns-01" and self.txt_lookup is not None:
            want = b64u(hashlib.sha256(keyauth.encode()).digest())
            return (
                None
                if want in self.txt_lookup(domain)
                else "no TXT %s at _acme-challenge.%s" % (want, domain)
            )
        return None

    def _do_finalize(self, seen: Seen, account: Account, payload: dict) -> Reply:
        order = self.orders.get(seen.url[: -len("/finalize")])
        bad = self._owned(order, account)
        if bad:
            return bad
        assert order is not None
        if order.status != "ready":
            return problem("orderNotReady", "order is %s" % order.status, 403)
        try:
            csr = x509.load_der_x509_csr(b64u_decode(payload["csr"]))
        except (KeyError, ValueError, TypeError):
            return problem("badCSR", "CSR does not parse")
        if not csr.is_signature_valid:
            return problem("badCSR", "CSR signature invalid")
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return problem("badCSR", "CSR has no SAN")
        names = sorted(
            [str(n) for n in san.get_values_for_type(x509.DNSName)]
            + [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        )
        if names != sorted(i["value"] for i in order.identifiers):
            return problem("badCSR", "CSR names %s differ from the order" % names)
        order.status = "processing"
        order.processing_left = self.processing_polls
        order.csr = csr
        if self.processing_polls == 0 and not self.stuck_processing:
            self._issue(order)
        headers = {"Location": order.url}
        if order.status == "processing" and self.processing_retry_after:
            headers["Retry-After"] = self.processing_retry_after
        return Reply(200, order.to_json(self.base), headers)

    def _issue(self, order: Order) -> None:
        csr = order.csr
        public_key = csr.public_key()
        if self.wrong_key:
            public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        names = self.cert_names or [i["value"] for i in order.identifiers]
        cert = self.ca.issue(public_key, names, self.clock.now(), self.lifetime)
        cert_url = self.url("/cert/%d" % next(self._ids))
        self.certs[cert_url] = cert
        order.cert_url = cert_url
        order.status = "valid"

    def _do_cert(self, seen: Seen, account: Account, payload: Any) -> Reply:
        cert = self.certs.get(seen.url)
        if cert is None:
            return problem("malformed", "no such certificate", 404)
        headers = {"Content-Type": PEM_CHAIN}
        if self.alternate_chain:
            headers["Link"] = '<%s/alt>;rel="alternate", <%s>;rel="index"' % (seen.url, self.url("/dir"))
        return Reply(200, self.ca.chain_pem(cert), headers)

    def _do_certAlt(self, seen: Seen, account: Account, payload: Any) -> Reply:
        cert = self.certs.get(seen.url[: -len("/alt")])
        if cert is None:
            return problem("malformed", "no such certificate", 404)
        return Reply(200, self.ca.chain_pem(cert, alternate=True), {"Content-Type": PEM_CHAIN})


class FakeHttp(Transport):
    """The engine's HTTP interface (mdcore.net.Transport), answered by a FakeAcme instead of the
    network. ``timeout`` in what the server saw is what was left of the exchange's deadline."""

    def __init__(self, server: FakeAcme) -> None:
        self.server = server

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline,
                 headers: dict | None = None) -> HttpReply:
        reply = self.server.handle(method, url, dict(headers or {}), body, deadline.remaining(), None)
        out = Headers({k.lower(): v for k, v in reply.headers.items()})
        if isinstance(reply.body, (dict, list)):
            content = json.dumps(reply.body).encode()
            out.setdefault("content-type", "application/json")
        elif isinstance(reply.body, str):
            content = reply.body.encode()
        else:
            content = reply.body or b""
        if reply.nonce:
            out["replay-nonce"] = self.server.new_nonce()
        return HttpReply(reply.status, out, b"" if method == "HEAD" else content, url)
