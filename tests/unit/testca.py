"""A throwaway certificate authority for unit tests: a root, an intermediate, and an alternate root
that cross-signs the same intermediate (so the CA can offer a second chain, as Let's Encrypt did)."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from peers.tlsutil import san

ROOT_CN = "mdfleet Fake Root X1"
ALT_ROOT_CN = "mdfleet Fake Alt Root X2"
INTERMEDIATE_CN = "mdfleet Fake Intermediate E1"
OCSP_URL = "http://ocsp.ca.test/"

_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
_FAR = datetime.datetime(2040, 1, 1, tzinfo=datetime.timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca_cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_EPOCH)
        .not_valid_after(_FAR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


class TestCA:
    """Issues leaf certificates from CSRs; ``chain_pem`` gives the default or the alternate chain."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.alt_root_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _ca_cert(ROOT_CN, self.root_key, ROOT_CN, self.root_key)
        self.alt_root = _ca_cert(ALT_ROOT_CN, self.alt_root_key, ALT_ROOT_CN, self.alt_root_key)
        self.intermediate = _ca_cert(INTERMEDIATE_CN, self.intermediate_key, ROOT_CN, self.root_key)
        # Same subject and key, other issuer: leaves verify under either chain.
        self.intermediate_alt = _ca_cert(
            INTERMEDIATE_CN, self.intermediate_key, ALT_ROOT_CN, self.alt_root_key
        )

    def issue(
        self, public_key, names: list[str], not_before: datetime.datetime, lifetime: datetime.timedelta
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]) if names[0].startswith("*") else _name(names[0]))
            .issuer_name(self.intermediate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + lifetime)
            .add_extension(san(names), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.intermediate_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.oid.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(OCSP_URL),
                        )
                    ]
                ),
                critical=False,
            )
            .sign(self.intermediate_key, hashes.SHA256())
        )

    def chain_pem(self, leaf: x509.Certificate, alternate: bool = False) -> bytes:
        inter = self.intermediate_alt if alternate else self.intermediate
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, inter))
