"""Checks of a bundle before anything is written: is it for this host, and is every file what it
claims (key matches leaf, names covered, leaf signed by the chain, fullchain = cert + chain, not
expired, facts = certificate). Messages name md, key type and what failed; never key text."""

from __future__ import annotations

import datetime

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..acme.jws import AccountKey
from ..certs import CertFacts, names_of, split_pem_chain
from ..clock import to_iso
from ..config import MdConfig
from ..errors import MdError
from ..keytypes import key_spec
from .bundle import AccountBundle, BundleError, SetBundle, SetFiles


def check_set_for_host(bundle: SetBundle, cfg: MdConfig | None, host: str) -> MdConfig:
    """The bundle is for a managed domain this host imports, from that domain's issuer; returns
    that domain's config."""
    md = bundle.md
    if cfg is None:
        raise BundleError("managed domain %s is not configured on this host (%s)" % (md, host))
    if not cfg.issuer:
        raise BundleError("managed domain %s is not a shared domain on this host (%s): its config names no issuer"
                          % (md, host))
    if not cfg.imported:
        raise BundleError("managed domain %s is issued on this host (%s): it is ordered here, never imported"
                          % (md, host))
    if bundle.issuer != cfg.issuer:
        raise BundleError("the bundle of %s comes from %s, but this host (%s) imports %s from %s"
                          % (md, bundle.issuer, host, md, cfg.issuer))
    if sorted(bundle.key_types) != sorted(cfg.key_types):
        raise BundleError("%s: the issuer's set has key types %s, this host's config %s: declare the same key "
                          "types on every host" % (md, ", ".join(bundle.key_types), ", ".join(cfg.key_types)))
    names = sorted(bundle.set_info["names"])
    if names != sorted(cfg.domains):
        raise BundleError("%s: the issuer's set is for %s, this host's config for %s: declare the same names on "
                          "every host" % (md, ", ".join(names), ", ".join(sorted(cfg.domains))))
    return cfg


def verify_set_files(bundle: SetBundle, cfg: MdConfig, now: datetime.datetime) -> dict[str, CertFacts]:
    """Every key type's files checked; returns the facts of each leaf (computed, not trusted)."""
    out = {}
    for kt in cfg.key_types:
        where = "%s %s" % (bundle.md, kt)
        try:
            facts = _verify_one(bundle.files[kt], kt, cfg.domains, now, where)
        except MdError:
            raise
        except Exception as exc:  # cryptography on hostile input: a clear error, no traceback
            raise BundleError("%s: the certificate files cannot be checked (%s)" % (where, type(exc).__name__)) \
                from None
        claimed = bundle.set_info["certs"][kt]
        if claimed.get("serial") != facts.serial or claimed.get("sha256_fingerprint") != facts.sha256_fingerprint:
            raise BundleError("%s: the set's facts (serial %s) are not those of its certificate (serial %s)"
                              % (where, str(claimed.get("serial"))[:64], facts.serial))
        out[kt] = facts
    return out


def _verify_one(files: SetFiles, kt: str, names: list[str], now: datetime.datetime, where: str) -> CertFacts:
    key = _private_key(files.privkey, "%s: privkey.pem" % where)
    spec = key_spec(kt)
    if not _is_kind(key, spec):
        raise BundleError("%s: privkey.pem is not a %s key" % (where, kt))
    leafs = _certs(files.cert, "%s: cert.pem" % where)
    if len(leafs) != 1:
        raise BundleError("%s: cert.pem must hold exactly one certificate (it holds %d)" % (where, len(leafs)))
    leaf = leafs[0]
    chain = _certs(files.chain, "%s: chain.pem" % where)
    full = _certs(files.fullchain, "%s: fullchain.pem" % where)
    if [_der(c) for c in full] != [_der(c) for c in [leaf] + chain]:
        raise BundleError("%s: fullchain.pem is not cert.pem followed by chain.pem" % where)
    if _spki(leaf.public_key()) != _spki(key.public_key()):
        raise BundleError("%s: the certificate is not for the private key of the set (key and certificate do "
                          "not match)" % where)
    missing = sorted(set(names) - set(names_of(leaf)))
    if missing:
        raise BundleError("%s: the certificate does not cover %s" % (where, ", ".join(missing)))
    if leaf.issuer != chain[0].subject or not _signed_by(leaf, chain[0]):
        raise BundleError("%s: the certificate is not signed by the first certificate of chain.pem" % where)
    facts = CertFacts.of(leaf)
    if facts.not_after <= now:
        raise BundleError("%s: the certificate expired at %s" % (where, to_iso(facts.not_after)))
    return facts


def _private_key(pem: bytes, where: str):
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except Exception:  # its message is not shown: it could quote what it failed to read
        raise BundleError("%s is not an unencrypted PEM private key" % where) from None


def _certs(pem: bytes, where: str) -> list:
    try:
        return split_pem_chain(pem)
    except Exception:
        raise BundleError("%s is not a PEM certificate list" % where) from None


def _is_kind(key, spec) -> bool:
    if spec.kind == "rsa":
        return isinstance(key, rsa.RSAPrivateKey) and key.key_size == spec.size
    return isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == spec.curve


def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _signed_by(cert, issuer) -> bool:
    """cert's signature verifies with issuer's key (cryptography 38 has no verify_directly_issued_by)."""
    pub = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def account_key(bundle: AccountBundle) -> AccountKey:
    """The account bundle's key as an ACME account key (EC P-256/P-384 or RSA >= 2048)."""
    return load_account_key(bundle.key_pem, "%s: key_pem" % bundle.ca_url)


def load_account_key(pem: bytes, where: str) -> AccountKey:
    key = _private_key(pem, where)
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise BundleError("%s is an RSA key of %d bits: an ACME account key needs at least 2048"
                          % (where, key.key_size))
    try:
        return AccountKey(key)
    except MdError:
        raise BundleError("%s is not a key type ACME accounts use (EC P-256, P-384 or RSA)" % where) from None


def same_key(a: AccountKey, b: AccountKey) -> bool:
    return _spki(a.key.public_key()) == _spki(b.key.public_key())


__all__ = ["check_set_for_host", "verify_set_files", "account_key", "load_account_key", "same_key"]
