"""The certificate side of a request: parse a certificate (subject.py reads it cheaply: a run with
nothing due only hashes it), find its issuer, compute the CertID, build the DER request and its GET form."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..certs import ocsp_url_of, split_pem_chain
from ..errors import OcspError
from .der import DerError, serial_and_issuer, tbs_issuer
from .subject import PEM_BEGIN, PEM_END, Subject, pem_der, pem_der_sha256, read_pem_file, read_subject

GET_LIMIT = 255  # RFC 5019 2.1.1: use GET when the encoded request is shorter than this

_HASHES = {"sha1": "SHA1", "sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}


@dataclass(frozen=True)
class CertId:
    """RFC 6960 CertID: hash algorithm, issuer name hash, issuer key hash, serial number."""

    hash_name: str
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int

    def to_json(self) -> dict:
        return {"hash": self.hash_name, "issuer_name_hash": self.issuer_name_hash.hex(),
                "issuer_key_hash": self.issuer_key_hash.hex(), "serial": "%X" % self.serial}

    def matches(self, single) -> bool:
        """Whether a single response (or request) of cryptography names this certificate."""
        return (single.serial_number == self.serial and single.issuer_name_hash == self.issuer_name_hash
                and single.issuer_key_hash == self.issuer_key_hash)


def _parse(path: str, pem: bytes) -> list[x509.Certificate]:
    try:
        return split_pem_chain(pem)
    except Exception as exc:  # cryptography raises ValueError; split_pem_chain MdError
        raise OcspError("%s holds no readable PEM certificate: %s" % (path, exc)) from None


def parse_subject(cert_path: str, pem: bytes, digest: str | None, responder: str | None) -> Subject:
    """read_subject() of a certificate whose hash the store does not know: parsed for its AIA URL."""
    certs = _parse(cert_path, pem)
    cert = certs[0]
    digest = digest or hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    url = ocsp_url_of(cert)
    return Subject(cert_path, pem, digest, url, responder or url, cert, certs[1:])


_ISSUER_FILES: dict[bytes, list] = {}  # parsed chain files by content: a fleet shares few issuers
_ISSUER_LOCK = threading.Lock()


def _chain(path: str) -> list[x509.Certificate]:
    data = read_pem_file(path, "issuer/chain file")
    certs = _ISSUER_FILES.get(data)
    if certs is None:
        certs = _parse(path, data)
        with _ISSUER_LOCK:
            if len(_ISSUER_FILES) > 64:
                _ISSUER_FILES.clear()
            _ISSUER_FILES[data] = certs
    return certs


def with_issuer(subject: Subject, issuer_path: str | None) -> Subject:
    """Find the certificate's issuer in ``issuer_path`` or in the rest of the certificate file.
    With an issuer file, the certificate's serial and issuer name are read from its DER and the
    issuer looked up by the name's bytes (a due staple's request is built from them: no parse of
    the certificate); anything else parses the certificate, as do the messages of a failure."""
    if subject.cert is None and issuer_path and _issuer_from_der(subject, issuer_path):
        return subject
    _parsed(subject)
    candidates = (_chain(issuer_path) if issuer_path else []) + list(subject.rest)
    subject.issuer = find_issuer(subject.cert, candidates)
    if subject.issuer is None:
        where = issuer_path or "the certificate file; give its chain"
        raise OcspError("no issuer certificate for %s (issuer %s) in %s"
                        % (subject.path, subject.cert.issuer.rfc4514_string(), where))
    return subject


def _parsed(subject: Subject) -> x509.Certificate:
    """The subject's certificate, parsed (once)."""
    if subject.cert is None:
        if subject.pem is None:
            subject.pem = read_pem_file(subject.path, "certificate")
        certs = _parse(subject.path, subject.pem)
        subject.cert, subject.rest = certs[0], certs[1:]
    return subject.cert


def _issuer_from_der(subject: Subject, issuer_path: str) -> bool:
    """The issuer from ``issuer_path`` whose subject DER is the certificate's issuer name, and the
    certificate's serial, from its DER; False when the bytes do not tell (the caller parses)."""
    der = subject.der
    if der is None:
        if subject.pem is None:
            subject.pem = read_pem_file(subject.path, "certificate")
        der = pem_der(subject.pem)
        if der is None:
            return False
    try:
        serial, issuer_name = serial_and_issuer(der)
    except DerError:
        return False
    for candidate in _chain(issuer_path):
        if subject_der(candidate) == issuer_name:
            subject.der, subject.serial_der, subject.issuer = der, serial, candidate
            return True
    return False


def load_subject(cert_path: str, issuer_path: str | None, responder: str | None,
                 need_issuer: bool = True) -> Subject:
    """Read a certificate and (when ``need_issuer``) find its issuer; ``responder`` overrides the
    certificate's AIA OCSP URL."""
    subject = read_subject(cert_path, responder)
    return with_issuer(subject, issuer_path) if need_issuer else subject


def find_issuer(cert: x509.Certificate, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    """The candidate whose subject is the certificate's issuer: the names' DER bytes compared
    first (cryptography 38 builds an x509.Name per access, 10 us each), then, for a name written
    in another encoding, the Names themselves."""
    try:
        wanted = tbs_issuer(cert.tbs_certificate_bytes)
    except DerError:
        wanted = None
    for candidate in candidates if wanted is not None else ():
        if subject_der(candidate) == wanted:
            return candidate
    for candidate in candidates:
        if candidate.subject == cert.issuer:
            return candidate
    return None


_SUBJECTS: dict[int, tuple[object, bytes]] = {}  # id -> (certificate, its subject's DER)


def subject_der(cert: x509.Certificate) -> bytes:
    """The DER of a certificate's subject, computed once per certificate object (the chain files'
    certificates are kept parsed: see _chain)."""
    known = _SUBJECTS.get(id(cert))
    if known is not None and known[0] is cert:
        return known[1]
    value = cert.subject.public_bytes()
    with _ISSUER_LOCK:
        if len(_SUBJECTS) > 256:
            _SUBJECTS.clear()
        _SUBJECTS[id(cert)] = (cert, value)  # the entry keeps the certificate alive: the id stays unique
    return value


@dataclass(frozen=True)
class IssuerFacts:
    """What every request and response check needs from an issuer, computed once per issuer
    (cryptography 38 re-parses the public key on every public_key() call: 0.3 ms)."""

    cert: object
    public_key: object
    subject_der: bytes  # its subject Name as DER (ResponderID byName of the responses it signs)
    name_sha1: bytes  # SHA-1 of the issuer's subject DER (CertID issuerNameHash)
    key_sha1: bytes  # SHA-1 of its subjectPublicKey BIT STRING (CertID issuerKeyHash, ResponderID byKey)


_FACTS: dict[int, IssuerFacts] = {}


def issuer_facts(issuer: x509.Certificate) -> IssuerFacts:
    facts = _FACTS.get(id(issuer))
    if facts is None or facts.cert is not issuer:
        key = issuer.public_key()
        name = subject_der(issuer)
        facts = IssuerFacts(issuer, key, name, hashlib.sha1(name).digest(),
                            x509.SubjectKeyIdentifier.from_public_key(key).digest)
        with _ISSUER_LOCK:
            if len(_FACTS) > 256:
                _FACTS.clear()
            _FACTS[id(issuer)] = facts  # the entry keeps the certificate alive, so the id stays unique
    return facts


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        head = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + content


SHA1_ALGORITHM = bytes.fromhex("300906052b0e03021a0500")  # AlgorithmIdentifier { id-sha1, NULL }


def build_request(subject: Subject, hash_name: str = "sha1") -> tuple[bytes, CertId]:
    """DER OCSPRequest for one certificate (no nonce: responses are cached and stapled). The
    SHA-1 CertID form (what responders expect, RFC 5019) is encoded here from cached issuer
    facts; the same bytes as cryptography's OCSPRequestBuilder, at a fraction of its cost."""
    if hash_name != "sha1":
        req, certid = _request(subject, hash_name)
        return req.public_bytes(serialization.Encoding.DER), certid
    if subject.issuer is None or (subject.cert is None and subject.serial_der is None):
        raise OcspError("no issuer certificate for %s" % subject.path)
    facts = issuer_facts(subject.issuer)
    if subject.serial_der is not None:  # read from the DER (with_issuer): positive, shortest form
        serial_der = subject.serial_der
        serial = int.from_bytes(serial_der, "big")
    else:
        serial = subject.cert.serial_number
        serial_der = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    certid_der = _der(0x30, SHA1_ALGORITHM + _der(0x04, facts.name_sha1) + _der(0x04, facts.key_sha1)
                      + _der(0x02, serial_der))
    der = _der(0x30, _der(0x30, _der(0x30, _der(0x30, certid_der))))
    return der, CertId("sha1", facts.name_sha1, facts.key_sha1, serial)


def certid_of(subject: Subject, hash_name: str = "sha1") -> CertId:
    """The CertID of ``subject`` (parsed, with its issuer) under ``hash_name``."""
    return _request(subject, hash_name)[1]


def _request(subject: Subject, hash_name: str) -> tuple:
    if subject.issuer is None:
        raise OcspError("no issuer certificate for %s" % subject.path)
    _parsed(subject)  # a request built from the DER did not parse it
    algorithm = _HASHES.get(hash_name)
    if algorithm is None:
        raise OcspError("unsupported CertID hash algorithm %s" % hash_name)
    req = ocsp.OCSPRequestBuilder().add_certificate(subject.cert, subject.issuer, getattr(hashes, algorithm)()).build()
    return req, CertId(hash_name, req.issuer_name_hash, req.issuer_key_hash, req.serial_number)


_B64_URL_ESCAPES = str.maketrans({"+": "%2B", "/": "%2F", "=": "%3D"})


def get_url(responder_url: str, request_der: bytes) -> str | None:
    """RFC 6960 A.1 GET form of a request, or None when it is too long for GET."""
    # percent-encoding of base64 (RFC 3986 unreserved are letters, digits and -._~): the same
    # as urllib.parse.quote(safe=""), at a tenth of its cost
    encoded = base64.b64encode(request_der).decode().translate(_B64_URL_ESCAPES)
    if len(encoded) >= GET_LIMIT:
        return None
    base = responder_url if responder_url.endswith("/") else responder_url + "/"
    return base + encoded


__all__ = ["CertId", "Subject", "read_subject", "parse_subject", "with_issuer", "load_subject", "build_request",
           "get_url", "find_issuer", "subject_der", "pem_der_sha256", "read_pem_file", "PEM_BEGIN", "PEM_END"]
