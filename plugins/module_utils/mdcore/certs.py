"""Reading certificates and chains: the facts we report and the checks we make.

Works with cryptography 38 (Debian 12) and newer: the *_utc accessors only exist since 42.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .errors import MdError

PEM_MARK = b"-----BEGIN CERTIFICATE-----"


def not_before(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_before_utc", None)
    if value is None:
        value = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    return value


def not_after(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    if value is None:
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def split_pem_chain(data: bytes) -> list[x509.Certificate]:
    """All certificates in a PEM bundle, in order; an MdError when there is none or one does not
    parse (a CA's broken chain was a ValueError from cryptography: an internal error)."""
    certs = []
    for number, block in enumerate(data.split(PEM_MARK)[1:], 1):
        try:
            certs.append(x509.load_pem_x509_certificate(PEM_MARK + block))
        except (ValueError, TypeError) as exc:
            raise MdError("PEM certificate %d of %d does not parse (%s)" % (
                number, data.count(PEM_MARK), str(exc).split("\n", 1)[0][:120] or type(exc).__name__)) from None
    if not certs:
        raise MdError("no PEM certificate found")
    return certs


def to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def names_of(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    out = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    out += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return out


def ocsp_url_of(cert: x509.Certificate) -> str | None:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    except x509.ExtensionNotFound:
        return None
    for desc in aia:
        if desc.access_method == AuthorityInformationAccessOID.OCSP:
            return desc.access_location.value
    return None


def ari_cert_id(cert: x509.Certificate) -> str | None:
    """RFC 9773 certificate identifier: base64url(AKI keyIdentifier) '.' base64url(serial DER)."""
    try:
        aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    except x509.ExtensionNotFound:
        return None
    if aki.key_identifier is None:
        return None
    serial = cert.serial_number
    raw = serial.to_bytes((serial.bit_length() + 8) // 8 or 1, "big")
    return "%s.%s" % (_b64url(aki.key_identifier), _b64url(raw))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issuer_name(cert: x509.Certificate) -> str:
    """mod_md style issuer name: '/CN=Pebble Intermediate CA 6dbded'."""
    parts = []
    for rdn in cert.issuer.rdns:
        for attr in rdn:
            short = getattr(attr.oid, "_name", None) or attr.oid.dotted_string
            short = {"commonName": "CN", "organizationName": "O", "countryName": "C",
                     "organizationalUnitName": "OU"}.get(short, short)
            parts.append("/%s=%s" % (short, attr.value))
    return "".join(parts)


@dataclass
class CertFacts:
    """What we tell about one certificate: never anything secret."""

    serial: str
    sha256_fingerprint: str
    issuer: str
    subject: str
    names: list[str]
    not_before: datetime.datetime
    not_after: datetime.datetime
    ocsp_url: str | None = None
    ari_cert_id: str | None = None
    paths: dict = field(default_factory=dict)

    @property
    def lifetime(self) -> datetime.timedelta:
        return self.not_after - self.not_before

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertFacts:
        der = cert.public_bytes(serialization.Encoding.DER)
        return cls(
            serial="%X" % cert.serial_number,
            sha256_fingerprint=hashlib.sha256(der).hexdigest(),
            issuer=issuer_name(cert),
            subject=cert.subject.rfc4514_string(),
            names=names_of(cert),
            not_before=not_before(cert),
            not_after=not_after(cert),
            ocsp_url=ocsp_url_of(cert),
            ari_cert_id=ari_cert_id(cert),
        )
