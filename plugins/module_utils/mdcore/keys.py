"""Key generation, CSRs and PEM (de)serialisation for the key types of keytypes.py (cryptography)."""

from __future__ import annotations

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .keytypes import KeySpec


def generate_key(spec: KeySpec):
    if spec.kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=spec.size)
    curve = ec.SECP256R1() if spec.curve == "secp256r1" else ec.SECP384R1()
    return ec.generate_private_key(curve)


def key_to_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_from_pem(data: bytes):
    return serialization.load_pem_private_key(data, password=None)


def make_csr(key, names: list[str]) -> bytes:
    """A DER CSR for ``names`` (first name is the CN when short enough), signed by ``key``."""
    builder = x509.CertificateSigningRequestBuilder()
    if len(names[0]) <= 64 and not names[0].startswith("*"):
        builder = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    else:
        builder = builder.subject_name(x509.Name([]))
    builder = builder.add_extension(
        x509.SubjectAlternativeName([general_name(n) for n in names]), critical=False
    )
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


def general_name(name: str) -> x509.GeneralName:
    """The SAN entry of an identifier: an IP address (RFC 8738) or a DNS name."""
    import ipaddress

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
