"""Synthetic stores for status tests and bench/status_bench.py: the engine's layout (archive set +
domains/ symlink, set.json, jobs/<md>.json with its config snapshot, ocsp/staples.json), written
directly and quickly (no fsync: thousands of domains in a second). A unit test checks that a store
written by the real engine reads the same way."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
from dataclasses import dataclass, field

from mdcore.clock import to_iso
from mdcore.ocsp.persist import StapleBook
from mdcore.ocsp.state import OcspStatus, StapleState
from mdcore.state.order import OrderState
from mdcore.store import Store

DAY = datetime.timedelta(days=1)
ISSUER = "/CN=Synthetic Intermediate E9"


@dataclass
class Spec:
    """One synthetic managed domain. ``age``: how long ago its certificates were issued."""

    name: str
    names: list[str] = field(default_factory=list)
    key_types: list[str] = field(default_factory=lambda: ["p256"])
    lifetime: datetime.timedelta = 90 * DAY
    age: datetime.timedelta = 10 * DAY
    issued: bool = True  # False: no active set yet (first order pending or failing)
    errors: int = 0  # renewal failures in a row
    error: str = "urn:ietf:params:acme:error:rateLimited"
    order_pending: bool = False
    ocsp: str | None = OcspStatus.GOOD  # None: no staple metadata; NO_RESPONDER ...
    ocsp_errors: int = 0
    ocsp_expired: bool = False  # the stored response passed its nextUpdate
    renew_window: str = "33%"
    warn_window: str = "10%"
    fleet: dict | None = None  # a shared domain: {"issuer", "members", "issued_here"} of the config snapshot
    imported_from: str | None = None  # the active set came from this issuer (an hour after it was issued)


def _write(path: str, data: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _der(name: str, kt: str, age: datetime.timedelta) -> bytes:
    """The synthetic certificate's "DER": not a certificate, but PEM-armoured like one, so that
    stapling recognises it by the hash the staple book holds (and never parses it)."""
    return ("%s/%s/%s" % (name, kt, age)).encode()


def _fingerprint(name: str, kt: str, age: datetime.timedelta) -> str:
    return hashlib.sha256(_der(name, kt, age)).hexdigest()


def _pem(der: bytes) -> str:
    return "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(der).decode()


def write_md(root: str, now: datetime.datetime, spec: Spec, book: StapleBook | None = None) -> None:
    """One synthetic domain; its staples go into ``book`` (saved by the caller), else straight
    into the store's staple book."""
    own = book is None
    book = book or StapleBook.load(Store(root))
    names = spec.names or [spec.name, "www." + spec.name]
    not_before = now - spec.age
    not_after = not_before + spec.lifetime
    if spec.issued:
        archive = os.path.join(root, "archive", "%s.1" % spec.name)
        certs = {}
        for index, kt in enumerate(spec.key_types):
            pem = _pem(_der(spec.name, kt, spec.age))
            _write(os.path.join(archive, kt, "cert.pem"), pem)
            _write(os.path.join(archive, kt, "chain.pem"), _pem(ISSUER.encode()))
            _write(os.path.join(archive, kt, "fullchain.pem"), pem + _pem(ISSUER.encode()))
            _write(os.path.join(archive, kt, "privkey.pem"), "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n",
                   0o600)
            serial = int(_fingerprint(spec.name, kt, spec.age)[:12], 16) + index
            certs[kt] = {"serial": "%X" % serial,
                         "sha256_fingerprint": _fingerprint(spec.name, kt, spec.age), "issuer": ISSUER,
                         "subject": "CN=%s" % names[0], "names": names, "not_before": to_iso(not_before),
                         "not_after": to_iso(not_after), "ocsp_url": "http://ocsp.synthetic.test/",
                         "ari_cert_id": "aWQ.%s" % spec.name.replace(".", "")}
        set_doc = {"md": spec.name, "names": names, "key_types": spec.key_types, "ca_url": "https://ca.test/dir",
                   "account_url": "https://ca.test/acct/1", "created": to_iso(not_before),
                   "orders": {kt: "https://ca.test/order/%s" % kt for kt in spec.key_types}, "certs": certs}
        if spec.imported_from:
            set_doc["imported"] = {"from": spec.imported_from, "at": to_iso(not_before + DAY / 24),
                                   "created": to_iso(not_before)}
        _write(os.path.join(archive, "set.json"), json.dumps(set_doc))
        os.makedirs(os.path.join(root, "domains"), exist_ok=True)
        link = os.path.join(root, "domains", spec.name)
        os.symlink(os.path.join("..", "archive", "%s.1" % spec.name), link)
        for kt in spec.key_types:
            if spec.ocsp is None:
                continue
            state = StapleState(cert_path=os.path.join(root, "domains", spec.name, kt, "cert.pem"),
                                cert_sha256=_fingerprint(spec.name, kt, spec.age), md=spec.name, key_type=kt,
                                responder="http://ocsp.synthetic.test/", status=spec.ocsp)
            if spec.ocsp in OcspStatus.CERT_STATUSES:
                this = now - (9 * DAY if spec.ocsp_expired else DAY)
                state.this_update, state.next_update = this, this + 7 * DAY
                state.produced_at = state.fetched_at = state.last_attempt = this
                if spec.ocsp != OcspStatus.UNKNOWN:
                    state.succeeded_at = this
                state.refresh_at = state.next_update - datetime.timedelta(days=7 * 0.33)
                state.response = "MIIBsynthetic=="
                state.response_sha256 = "ab" * 32
                if spec.ocsp == OcspStatus.REVOKED:
                    state.revocation_time, state.revocation_reason = this, "keyCompromise"
                    state.renew_required = state.new_key_required = True
            if spec.ocsp_errors:
                state.errors = spec.ocsp_errors
                state.last_error = "responder ocsp.synthetic.test did not answer within 10s"
                state.last_error_at = state.last_attempt = now - datetime.timedelta(hours=1)
                state.next_retry = now + datetime.timedelta(hours=1)
            book.put("%s/%s" % (spec.name, kt), state)
    if own:
        book.save(written=[])
    job: dict = {"md": spec.name, "last_run": to_iso(now - DAY), "errors": spec.errors,
                 "last_success": to_iso(not_before) if spec.issued else None, "next_retry": None,
                 "last_error": None, "log": [], "notified": {},
                 "config": {"names": names, "key_types": spec.key_types, "cas": ["https://ca.test/dir"],
                            "challenge": "http-01", "renew_window": spec.renew_window,
                            "warn_window": spec.warn_window, "contact": ["mailto:ops@example.org"],
                            "profile": None}}
    if spec.fleet is not None:
        job["config"]["fleet"] = dict(spec.fleet)
    if spec.issued:
        job["log"].append({"when": to_iso(not_before), "type": "renewed", "detail": "new certificate set"})
    if spec.errors:
        job["next_retry"] = to_iso(now + datetime.timedelta(hours=2))
        job["last_error"] = {"message": "CA problem: too many certificates already issued", "problem_type":
                             spec.error, "detail": "too many certificates already issued", "retry_hot": True}
        job["log"].append({"when": to_iso(now - DAY), "type": "error", "detail": "too many certificates"})
    _write(os.path.join(root, "jobs", spec.name + ".json"), json.dumps(job), 0o600)
    if spec.order_pending:
        order = OrderState(spec.name, names, list(spec.key_types), "https://ca.test/dir",
                           orders={"p256": "https://ca.test/order/9"})
        _write(os.path.join(root, "staging", spec.name, "order.json"), json.dumps(order.to_json()), 0o600)


def make_store(root: str, now: datetime.datetime, specs: list[Spec]) -> str:
    for sub in ("accounts", "archive", "domains", "staging", "jobs", "ocsp", "status", "challenges"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    os.chmod(root, 0o700)
    # An account with its key and EAB data: nothing of it may reach a view.
    _write(os.path.join(root, "accounts", "ca.test", "account.json"),
           json.dumps({"url": "https://ca.test/acct/1", "eab_hmac_key": "EABSECRETVALUE"}), 0o600)
    _write(os.path.join(root, "accounts", "ca.test", "account.key.pem"), "ACCOUNTKEYSECRET", 0o600)
    book = StapleBook.load(Store(root))
    for spec in specs:
        write_md(root, now, spec, book)
    book.save(written=[])  # no fsync: a test store
    return root


def fleet_mix(count: int) -> list[Spec]:
    """``count`` domains in a realistic mix: mostly fine, some renewing, a few in trouble."""
    specs = []
    for i in range(count):
        name = "site%04d.example.org" % i
        kind = i % 20
        spec = Spec(name, key_types=["p256", "rsa2048"] if i % 3 == 0 else ["p256"], age=(i % 55) * DAY)
        if kind == 1:
            spec.age = 70 * DAY  # renew window
        elif kind == 2:
            spec.age = 83 * DAY  # warn window
        elif kind == 3:
            spec.errors, spec.age = 3, 75 * DAY
        elif kind == 4:
            spec.ocsp = OcspStatus.NO_RESPONDER
        elif kind == 5:
            spec.ocsp_errors = 2
        elif kind == 6 and i % 40 == 6:
            spec.issued, spec.order_pending = False, True
        specs.append(spec)
    return specs


__all__ = ["Spec", "make_store", "write_md", "fleet_mix", "DAY"]
