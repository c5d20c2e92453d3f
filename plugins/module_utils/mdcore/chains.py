"""Choosing among the CA's certificate chains (default and Link rel="alternate")."""

from __future__ import annotations

try:
    from cryptography.x509.oid import NameOID
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .certs import split_pem_chain


def top_issuer_cn(pem_chain: bytes) -> str:
    certs = split_pem_chain(pem_chain)
    attrs = certs[-1].issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else certs[-1].issuer.rfc4514_string()


def chain_matches(pem_chain: bytes, preferred: str) -> bool:
    """Like certbot's --preferred-chain: the issuer CN of the topmost certificate matches, or any
    certificate in the chain has that subject/issuer CN."""
    want = preferred.strip().lower()
    if top_issuer_cn(pem_chain).lower() == want:
        return True
    for cert in split_pem_chain(pem_chain):
        for name in (cert.subject, cert.issuer):
            attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
            if attrs and str(attrs[0].value).lower() == want:
                return True
    return False
