"""A tiny test PKI for OCSP tests: a CA, leaf certificates with an OCSP URL, responder certificates.

Only cryptography (>= 38) and the stdlib: runs under the venv and Debian 12's /usr/bin/python3.
Files are written in the layouts the engine reads (cert.pem, chain.pem, fullchain.pem, privkey.pem)
and in the layout `openssl ocsp` reads (index.txt + index.txt.attr with `unique_subject = no`).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .tlsutil import key_pem, key_usage

UTC = datetime.timezone.utc

# openssl's names for CRL reasons in index.txt (apps/lib/apps.c crl_reasons)
OPENSSL_REASONS = {
    "unspecified": "unspecified",
    "key_compromise": "keyCompromise",
    "ca_compromise": "CACompromise",
    "affiliation_changed": "affiliationChanged",
    "superseded": "superseded",
    "cessation_of_operation": "cessationOfOperation",
    "certificate_hold": "certificateHold",
}


def new_key(kind: str = "ec"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: str, data: bytes, mode: int = 0o644) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


def _naive(value: datetime.datetime | None) -> datetime.datetime | None:
    """cryptography 38's builders want naive UTC datetimes (newer ones accept both)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def _is_ed(key) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

    return isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))


def unsuccessful_der(status=ocsp.OCSPResponseStatus.TRY_LATER) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


@dataclass
class Leaf:
    """An issued certificate and where its files are."""

    name: str
    cert: x509.Certificate
    key: object
    folder: str
    revoked: tuple | None = None  # (datetime, reason name) once revoked
    listed: bool = True  # False: not in index.txt -> the responder answers "unknown"

    @property
    def cert_path(self) -> str:
        return os.path.join(self.folder, "cert.pem")

    @property
    def chain_path(self) -> str:
        return os.path.join(self.folder, "chain.pem")

    @property
    def fullchain_path(self) -> str:
        return os.path.join(self.folder, "fullchain.pem")

    @property
    def key_path(self) -> str:
        return os.path.join(self.folder, "privkey.pem")


@dataclass
class OcspTestCA:
    """A CA that signs leaves and delegated OCSP responder certificates."""

    folder: str
    name: str = "mdfleet OCSP Test CA"
    key_kind: str = "ec"
    key: object = None
    cert: x509.Certificate = None
    leaves: list = field(default_factory=list)
    _serial: int = 0x1000

    __test__ = False  # not a pytest class

    def __post_init__(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        if self.cert is None:
            self.key = new_key(self.key_kind)
            now = datetime.datetime.now(UTC)
            self.cert = (
                x509.CertificateBuilder()
                .subject_name(_name(self.name)).issuer_name(_name(self.name))
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(key_usage(ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), False)
                .sign(self.key, hashes.SHA256())
            )
        _write(self.ca_path, cert_pem(self.cert))
        _write(self.ca_key_path, key_pem(self.key), 0o600)

    @classmethod
    def from_pem(cls, folder: str, cert_pem_data: bytes, key_pem_data: bytes) -> OcspTestCA:
        """Wrap an existing CA (e.g. pebble's intermediate and its key)."""
        cert = x509.load_pem_x509_certificate(cert_pem_data)
        key = serialization.load_pem_private_key(key_pem_data, password=None)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return cls(folder=folder, name=cn[0].value if cn else "CA", key=key, cert=cert)

    @property
    def ca_path(self) -> str:
        return os.path.join(self.folder, "ca.pem")

    @property
    def ca_key_path(self) -> str:
        return os.path.join(self.folder, "ca.key")

    def next_serial(self) -> int:
        self._serial += 1
        return (0x5A << 64) | self._serial  # positive, fixed width, never reused in a run

    def issue(self, name: str, ocsp_url: str | None, *, days: int = 90, key_kind: str = "ec",
              listed: bool = True, folder: str | None = None) -> Leaf:
        key = new_key(key_kind)
        now = datetime.datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(self.next_serial())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(ocsp_url)),
            ]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        leaf = Leaf(name, cert, key, folder or os.path.join(self.folder, "leaves", name), listed=listed)
        _write(leaf.cert_path, cert_pem(cert))
        _write(leaf.chain_path, cert_pem(self.cert))
        _write(leaf.fullchain_path, cert_pem(cert) + cert_pem(self.cert))
        _write(leaf.key_path, key_pem(key), 0o600)
        self.leaves.append(leaf)
        return leaf

    def issue_responder(self, name: str = "OCSP Responder", *, ocsp_signing: bool = True,
                        issuer: OcspTestCA | None = None, days: int = 30) -> tuple:
        """A delegated responder certificate (id-kp-OCSPSigning) -> (cert, key, cert_path, key_path)."""
        signer = issuer or self
        key = new_key("ec")
        now = datetime.datetime.now(UTC)
        usages = [ExtendedKeyUsageOID.OCSP_SIGNING] if ocsp_signing else [ExtendedKeyUsageOID.SERVER_AUTH]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(signer.cert.subject)
            .public_key(key.public_key()).serial_number(self.next_serial())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.OCSPNoCheck(), critical=False)
            .sign(signer.key, hashes.SHA256())
        )
        base = os.path.join(self.folder, "responders", name.replace(" ", "_"))
        cpath = _write(base + ".pem", cert_pem(cert))
        kpath = _write(base + ".key", key_pem(key), 0o600)
        return cert, key, cpath, kpath

    def revoke(self, leaf: Leaf, reason: str = "unspecified", when: datetime.datetime | None = None) -> None:
        leaf.revoked = ((when or datetime.datetime.now(UTC)).replace(microsecond=0), reason)

    # -- responses built in Python (unit tests, the scriptable fault responder) -----------------
    def status_of(self, leaf: Leaf):
        if leaf.revoked:
            return ocsp.OCSPCertStatus.REVOKED
        return ocsp.OCSPCertStatus.GOOD if leaf.listed else ocsp.OCSPCertStatus.UNKNOWN

    def response_der(self, leaf: Leaf, *, status=None, this_update: datetime.datetime | None = None,
                     next_update: datetime.datetime | None = None, lifetime: datetime.timedelta | None = None,
                     no_next_update: bool = False, signer: tuple | None = None, certs: list | None = None,
                     by_key: bool = False, hash_alg=None, revoked: tuple | None = None) -> bytes:
        """A signed OCSP response about ``leaf``. ``signer``: (cert, key) of a delegated responder
        (its certificate is included unless ``certs`` says otherwise); default: the CA itself."""
        now = datetime.datetime.now(UTC).replace(microsecond=0)
        this_update = this_update or now - datetime.timedelta(minutes=1)
        if next_update is None and not no_next_update:
            next_update = this_update + (lifetime or datetime.timedelta(days=4))
        status = status if status is not None else self.status_of(leaf)
        rev_time = rev_reason = None
        if status == ocsp.OCSPCertStatus.REVOKED:
            when, reason = revoked or leaf.revoked or (now, "unspecified")
            rev_time = when
            rev_reason = getattr(x509.ReasonFlags, reason) if reason != "unspecified" else None
        cert, key = signer or (self.cert, self.key)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=leaf.cert, issuer=self.cert, algorithm=hash_alg or hashes.SHA1(), cert_status=status,
            this_update=_naive(this_update), next_update=_naive(next_update),
            revocation_time=_naive(rev_time), revocation_reason=rev_reason,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH if by_key else ocsp.OCSPResponderEncoding.NAME, cert)
        if certs is None and signer is not None:
            certs = [cert]
        if certs:
            builder = builder.certificates(certs)
        algorithm = None if _is_ed(key) else hashes.SHA256()
        return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)

    # -- openssl ocsp's index ------------------------------------------------------------------
    def index_text(self) -> str:
        rows = []
        for leaf in self.leaves:
            if not leaf.listed:
                continue
            na = getattr(leaf.cert, "not_valid_after_utc", None) or leaf.cert.not_valid_after
            expiry = na.strftime("%y%m%d%H%M%SZ")
            serial = "%X" % leaf.cert.serial_number
            if len(serial) % 2:
                serial = "0" + serial
            subject = "/CN=%s" % leaf.name
            if leaf.revoked:
                when, reason = leaf.revoked
                rev = when.strftime("%y%m%d%H%M%SZ")
                if reason != "unspecified":
                    rev += "," + OPENSSL_REASONS.get(reason, reason)
                rows.append("R\t%s\t%s\t%s\tunknown\t%s" % (expiry, rev, serial, subject))
            else:
                rows.append("V\t%s\t\t%s\tunknown\t%s" % (expiry, serial, subject))
        return "".join(r + "\n" for r in rows)

    def write_index(self, path: str) -> str:
        """Write index.txt by rename (a new inode: openssl ocsp notices it) + its .attr file."""
        _write(path + ".attr", b"unique_subject = no\n")
        tmp = path + ".new"
        _write(tmp, self.index_text().encode())
        os.replace(tmp, path)
        return path


def install_md(store, md: str, leaf, key_types=("p256",)) -> None:
    """Make ``leaf`` the active certificate of ``md`` in an mdcore Store (for every key type given),
    through the store's own staging and activation."""
    from mdcore.certs import CertFacts
    from mdcore.issuance import cert_info
    from mdcore.state.certset import CertSet
    from mdcore.state.order import OrderState

    staging = store.begin_staging(OrderState(md, [md], list(key_types), "https://ca.test/dir"))
    for kt in key_types:
        folder = os.path.join(staging, kt)
        os.makedirs(folder, exist_ok=True)
        for name, src in (("cert.pem", leaf.cert_path), ("chain.pem", leaf.chain_path),
                          ("fullchain.pem", leaf.fullchain_path), ("privkey.pem", leaf.key_path)):
            with open(src, "rb") as fin, open(os.path.join(folder, name), "wb") as fout:
                fout.write(fin.read())
    # set.json as issuance writes it, with the facts of the leaf
    info = cert_info(CertFacts.of(leaf.cert))
    store.activate(md, CertSet(md=md, names=[md], key_types=list(key_types), certs={kt: info for kt in key_types}))
