"""Verify an OCSP response for one certificate: parse, responder status, CertID, signer (issuer or
a delegated id-kp-OCSPSigning certificate issued by it), signature, thisUpdate/nextUpdate, status.

Every failure raises :class:`OcspError` whose message says which check failed. Works with
cryptography 38 (no *_utc accessors, no verify_directly_issued_by) and newer.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..certs import not_after, not_before
from ..clock import to_iso
from ..errors import OcspError
from .der import DerError, responder_name
from .request import CertId, IssuerFacts, Subject, issuer_facts
from .state import OcspStatus

UTC = datetime.timezone.utc

_STATUS = {"GOOD": OcspStatus.GOOD, "REVOKED": OcspStatus.REVOKED, "UNKNOWN": OcspStatus.UNKNOWN}

ISSUER = "issuer"  # responder_id of responses the issuer signed itself


@dataclass(frozen=True)
class VerifiedResponse:
    der: bytes
    status: str
    this_update: datetime.datetime
    next_update: datetime.datetime
    produced_at: datetime.datetime
    responder_id: str  # ISSUER or the delegated responder certificate's subject
    revocation_time: datetime.datetime | None = None
    revocation_reason: str | None = None  # RFC 5280 name, e.g. "keyCompromise"


_UTC_NAMES: dict[tuple[type, str], str | None] = {}  # (class, name) -> its *_utc accessor, None: only naive


def _utc(obj, name: str) -> datetime.datetime | None:
    """cryptography >= 43 has <name>_utc (the naive property is deprecated); 38 only the naive one."""
    key = (type(obj), name)
    accessor = _UTC_NAMES.get(key, "")
    if accessor == "":
        accessor = _UTC_NAMES[key] = name + "_utc" if hasattr(type(obj), name + "_utc") else None
    if accessor is not None:
        return getattr(obj, accessor)
    value = getattr(obj, name)
    return value.replace(tzinfo=UTC) if value is not None else None


_KINDS: dict[type, str] = {}  # key class -> "rsa", "ec", "ed" (isinstance against the ABCs costs more)


def _kind(public_key) -> str | None:
    kind = _KINDS.get(type(public_key))
    if kind is None:
        if isinstance(public_key, rsa.RSAPublicKey):
            kind = "rsa"
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            kind = "ec"
        elif isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            kind = "ed"
        else:
            return None
        _KINDS[type(public_key)] = kind
    return kind


def verify_signature(public_key, signature: bytes, data: bytes, hash_algorithm, sig_oid=None) -> None:
    """Raise InvalidSignature (or OcspError for an unusable key) unless ``signature`` is valid."""
    kind = _kind(public_key)
    if kind == "ec":
        digest = getattr(hashlib, hash_algorithm.name, None)
        if digest is not None:  # hashlib's C digest: cryptography 38 hashes through Python objects
            public_key.verify(signature, digest(data).digest(), ec.ECDSA(Prehashed(hash_algorithm)))
        else:
            public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
    elif kind == "rsa":
        if sig_oid == SignatureAlgorithmOID.RSASSA_PSS:
            pad = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.AUTO)
        else:
            pad = padding.PKCS1v15()
        public_key.verify(signature, data, pad, hash_algorithm)
    elif kind == "ed":
        public_key.verify(signature, data)
    else:
        raise OcspError("unsupported responder key type %s" % type(public_key).__name__)


def _is_responder(resp: ocsp.OCSPResponse, cert: x509.Certificate, key_sha1: bytes | None = None) -> bool:
    """Whether the ResponderID (by name, or byKey: SHA-1 of the subjectPublicKey) names ``cert``."""
    if resp.responder_name is not None:
        return resp.responder_name == cert.subject
    if resp.responder_key_hash is None:
        return False
    if key_sha1 is None:
        key_sha1 = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return resp.responder_key_hash == key_sha1


def _check_delegate(delegate: x509.Certificate, issuer: x509.Certificate, now: datetime.datetime) -> None:
    who = delegate.subject.rfc4514_string()
    if delegate.issuer != issuer.subject:
        raise OcspError("response signed by %s, a certificate not issued by the certificate's issuer" % who)
    try:
        verify_signature(issuer_facts(issuer).public_key, delegate.signature, delegate.tbs_certificate_bytes,
                         delegate.signature_hash_algorithm, delegate.signature_algorithm_oid)
    except InvalidSignature:
        raise OcspError("response signed by %s, whose certificate the issuer did not sign" % who) from None
    try:
        eku = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = []
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise OcspError("response signed by %s, a certificate without id-kp-OCSPSigning" % who)
    if not not_before(delegate) <= now <= not_after(delegate):
        raise OcspError("response signed by %s, whose certificate is not valid now (%s .. %s)" % (
            who, to_iso(not_before(delegate)), to_iso(not_after(delegate))))


def _names_issuer(resp: ocsp.OCSPResponse, tbs: bytes, facts: IssuerFacts) -> bool:
    """Whether the ResponderID names the issuer: by the Name's DER bytes from the response data
    (cheap), else as _is_responder compares (a key hash, or Names in other encodings)."""
    try:
        if responder_name(tbs) == facts.subject_der:
            return True
    except DerError:
        pass  # cryptography parsed it: let its accessors say what it is
    return _is_responder(resp, facts.cert, facts.key_sha1)


def _signer(resp: ocsp.OCSPResponse, tbs: bytes, issuer: x509.Certificate, now: datetime.datetime):
    """(public key, responder id) of who signed: the issuer or a delegate it certified."""
    facts = issuer_facts(issuer)
    if _names_issuer(resp, tbs, facts):
        return facts.public_key, ISSUER
    for candidate in resp.certificates:
        if _is_responder(resp, candidate):
            _check_delegate(candidate, issuer, now)
            return candidate.public_key(), candidate.subject.rfc4514_string()
    named = resp.responder_name.rfc4514_string() if resp.responder_name is not None else \
        "key %s" % (resp.responder_key_hash or b"").hex()
    raise OcspError("response signed by an unknown responder (%s): neither the issuer nor a delegated "
                    "responder certificate included in the response" % named)


def _single_for(resp: ocsp.OCSPResponse, subject: Subject, certid: CertId):
    cache = {certid.hash_name: certid}
    seen = []
    for single in resp.responses:
        name = single.hash_algorithm.name
        if name not in cache:
            try:
                cache[name] = subject.certid(name)
            except OcspError:
                continue
        if cache[name].matches(single):
            return single
        seen.append("%X" % single.serial_number)
    raise OcspError("response is for another certificate (serial %s), not for serial %X" % (
        ", ".join(seen) or "none", certid.serial))


def parse_response(der: bytes) -> ocsp.OCSPResponse:
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError:
        raise OcspError("responder sent no OCSP response (%d bytes that do not parse as DER OCSPResponse)"
                        % len(der)) from None
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspError("responder answered %s" % _status_name(resp.response_status))
    return resp


def _status_name(status) -> str:
    # RFC 6960 names: malformedRequest, internalError, tryLater, sigRequired, unauthorized
    words = status.name.lower().split("_")
    return "'" + words[0] + "".join(w.capitalize() for w in words[1:]) + "'"


def verify_response(der: bytes, subject: Subject, certid: CertId, now: datetime.datetime,
                    max_skew: float = 300.0) -> VerifiedResponse:
    """Check ``der`` as a response about ``subject`` at ``now``; raise OcspError on any failure."""
    resp = parse_response(der)
    try:
        tbs = resp.tbs_response_bytes
        signer_key, responder_id = _signer(resp, tbs, subject.issuer, now)
        try:
            hash_algorithm = resp.signature_hash_algorithm
            verify_signature(signer_key, resp.signature, tbs, hash_algorithm, resp.signature_algorithm_oid)
        except InvalidSignature:
            raise OcspError("response signature does not verify with the key of %s" % (
                "the issuer" if responder_id == ISSUER else responder_id)) from None
        except UnsupportedAlgorithm as exc:
            raise OcspError("response signed with an unsupported algorithm: %s" % exc) from None
        single = _single_for(resp, subject, certid)
    except (ValueError, TypeError) as exc:  # malformed inner parts surface lazily in cryptography
        raise OcspError("response is malformed: %s" % exc) from None
    this_update = _utc(single, "this_update")
    next_update = _utc(single, "next_update")
    produced_at = _utc(resp, "produced_at")
    skew = datetime.timedelta(seconds=max_skew)
    if this_update > now + skew:
        raise OcspError("response thisUpdate %s lies in the future (now %s)"
                        % (to_iso(this_update), to_iso(now)))
    if next_update is None:
        raise OcspError("response has no nextUpdate: it cannot be cached or stapled")
    if next_update <= now:
        raise OcspError("response expired: nextUpdate %s is past (now %s)"
                        % (to_iso(next_update), to_iso(now)))
    if next_update <= this_update:
        raise OcspError("response nextUpdate %s is not after thisUpdate %s"
                        % (to_iso(next_update), to_iso(this_update)))
    status = _STATUS[single.certificate_status.name]
    revocation_time = revocation_reason = None
    if status == OcspStatus.REVOKED:
        revocation_time = _utc(single, "revocation_time")
        reason = single.revocation_reason
        revocation_reason = reason.value if reason is not None else None
    return VerifiedResponse(der, status, this_update, next_update, produced_at, responder_id,
                            revocation_time, revocation_reason)


__all__ = ["VerifiedResponse", "verify_response", "parse_response", "verify_signature", "ISSUER"]
