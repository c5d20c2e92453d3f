"""The certificate side of a request: load a certificate and its issuer, compute the CertID,
build the DER request and its GET form."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ..certs import ocsp_url_of, split_pem_chain
from ..errors import OcspError

GET_LIMIT = 255  # RFC 5019 2.1.1: use GET when the encoded request is shorter than this

_HASHES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
           "sha384": hashes.SHA384, "sha512": hashes.SHA512}


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


@dataclass
class Subject:
    """A certificate to staple, its issuer and the facts requests need."""

    cert: x509.Certificate
    cert_sha256: str
    issuer: x509.Certificate | None
    responder_url: str | None

    def certid(self, hash_name: str = "sha1") -> CertId:
        return _request(self, hash_name)[1]


def read_pem_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise OcspError("cannot read %s %s: %s" % (what, path, exc.strerror or exc)) from None


def load_cert(path: str) -> tuple[x509.Certificate, list[x509.Certificate], str]:
    """The first certificate of a PEM file, the others after it, and the first one's DER sha256."""
    data = read_pem_file(path, "certificate")
    try:
        certs = split_pem_chain(data)
    except Exception as exc:  # cryptography raises ValueError; split_pem_chain MdError
        raise OcspError("%s holds no readable PEM certificate: %s" % (path, exc)) from None
    der = certs[0].public_bytes(serialization.Encoding.DER)
    return certs[0], certs[1:], hashlib.sha256(der).hexdigest()


def find_issuer(cert: x509.Certificate, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject == cert.issuer:
            return candidate
    return None


def load_subject(cert_path: str, issuer_path: str | None, responder: str | None,
                 need_issuer: bool = True) -> Subject:
    """Read a certificate (and, when ``need_issuer``, its issuer from ``issuer_path`` or from the
    rest of the certificate file). ``responder`` overrides the certificate's AIA OCSP URL."""
    cert, rest, digest = load_cert(cert_path)
    issuer = None
    if need_issuer:
        candidates = list(rest)
        if issuer_path:
            data = read_pem_file(issuer_path, "issuer/chain file")
            try:
                candidates = split_pem_chain(data) + candidates
            except Exception as exc:
                raise OcspError("%s holds no readable PEM certificate: %s" % (issuer_path, exc)) from None
        issuer = find_issuer(cert, candidates)
        if issuer is None:
            where = issuer_path or "the certificate file; give its chain"
            raise OcspError("no issuer certificate for %s (issuer %s) in %s"
                            % (cert_path, cert.issuer.rfc4514_string(), where))
    return Subject(cert, digest, issuer, responder or ocsp_url_of(cert))


def build_request(subject: Subject, hash_name: str = "sha1") -> tuple[bytes, CertId]:
    """DER OCSPRequest for one certificate (no nonce: responses are cached and stapled)."""
    req, certid = _request(subject, hash_name)
    return req.public_bytes(serialization.Encoding.DER), certid


def _request(subject: Subject, hash_name: str) -> tuple:
    if subject.issuer is None:
        raise OcspError("no issuer certificate for serial %X" % subject.cert.serial_number)
    algorithm = _HASHES.get(hash_name)
    if algorithm is None:
        raise OcspError("unsupported CertID hash algorithm %s" % hash_name)
    req = ocsp.OCSPRequestBuilder().add_certificate(subject.cert, subject.issuer, algorithm()).build()
    return req, CertId(hash_name, req.issuer_name_hash, req.issuer_key_hash, req.serial_number)


def get_url(responder_url: str, request_der: bytes) -> str | None:
    """RFC 6960 A.1 GET form of a request, or None when it is too long for GET."""
    encoded = urllib.parse.quote(base64.b64encode(request_der).decode(), safe="")
    if len(encoded) >= GET_LIMIT:
        return None
    base = responder_url if responder_url.endswith("/") else responder_url + "/"
    return base + encoded


__all__ = ["CertId", "Subject", "load_cert", "load_subject", "build_request", "get_url", "find_issuer"]
