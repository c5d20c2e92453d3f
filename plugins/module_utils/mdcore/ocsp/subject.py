"""Reading a certificate to staple, cheaply: a run with nothing due only hashes its DER and takes
the OCSP URL the store recorded with that hash; a certificate it does not know is parsed
(request.py, cryptography)."""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import OcspError
from ..fsutil import read_bytes

if TYPE_CHECKING:
    from cryptography import x509

    from .request import CertId

PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
PEM_END = b"-----END CERTIFICATE-----"


@dataclass
class Subject:
    """A certificate to staple: its file, DER sha256 and OCSP URL; the file's bytes (None: not read,
    the store vouched for its hash), the parsed certificate and its issuer only once a request is
    to be made (:func:`with_issuer`)."""

    path: str
    pem: bytes | None
    cert_sha256: str
    cert_ocsp_url: str | None  # from the certificate's AIA
    responder_url: str | None  # what is used: the override or the AIA URL
    cert: x509.Certificate | None = None
    rest: list = field(default_factory=list)  # certificates after the first in the same file
    issuer: x509.Certificate | None = None
    der: bytes | None = None  # the certificate's DER, once decoded (a request is built from it)
    serial_der: bytes | None = None  # its serialNumber's content octets, read from ``der``

    def certid(self, hash_name: str = "sha1") -> CertId:
        from .request import certid_of

        return certid_of(self, hash_name)


def read_pem_file(path: str, what: str) -> bytes:
    try:
        data = read_bytes(path)  # os calls: half the CPU of open().read(), twice per due staple
    except OSError as exc:
        raise OcspError("cannot read %s %s: %s" % (what, path, exc.strerror or exc)) from None
    if data is None:
        raise OcspError("cannot read %s %s: %s" % (what, path, os.strerror(errno.ENOENT)))
    return data


def pem_der(pem: bytes) -> bytes | None:
    """The DER of the first PEM certificate, without parsing it (None: not plain PEM)."""
    start = pem.find(PEM_BEGIN)
    end = pem.find(PEM_END, start + 1)
    if start < 0 or end < 0:
        return None
    try:
        return base64.b64decode(b"".join(pem[start + len(PEM_BEGIN):end].split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def pem_der_sha256(pem: bytes) -> str | None:
    """sha256 of the DER of the first PEM certificate, without parsing it (None: not plain PEM)."""
    der = pem_der(pem)
    return hashlib.sha256(der).hexdigest() if der is not None else None


def read_subject(cert_path: str, responder: str | None, known_sha256: str | None = None,
                 known_ocsp_url: str | None = None) -> Subject:
    """Read a certificate file. When its DER hash equals ``known_sha256`` (what the store recorded
    for it), ``known_ocsp_url`` is taken as its AIA URL and nothing is parsed."""
    pem = read_pem_file(cert_path, "certificate")
    der = pem_der(pem)
    digest = hashlib.sha256(der).hexdigest() if der is not None else None
    if digest is not None and digest == known_sha256:
        return Subject(cert_path, pem, digest, known_ocsp_url, responder or known_ocsp_url, der=der)
    from .request import parse_subject  # cryptography: only for a certificate the store does not know

    return parse_subject(cert_path, pem, digest, responder)


__all__ = ["Subject", "read_subject", "read_pem_file", "pem_der", "pem_der_sha256", "PEM_BEGIN", "PEM_END"]
