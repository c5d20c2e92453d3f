"""A due staple's request built from the certificate's DER (serial and issuer name read from the
bytes, the issuer looked up by its subject's DER): the same request as cryptography builds from
the parsed certificate, and the parsing path wherever the bytes do not tell."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from mdcore.errors import OcspError
from mdcore.ocsp import OcspStatus
from mdcore.ocsp.der import DerError, serial_and_issuer
from mdcore.ocsp.request import _der, build_request, pem_der_sha256, read_subject, with_issuer
from mdcore.ocsp.verify import verify_response
from peers.ocsp_pki import OcspTestCA

from .conftest import OCSP_URL


def _known(leaf):
    """The subject as a run's plan has it when the store recorded the certificate's hash."""
    with open(leaf.cert_path, "rb") as handle:
        digest = pem_der_sha256(handle.read())
    subject = read_subject(leaf.cert_path, None, digest, OCSP_URL)
    assert subject.cert is None and subject.der is not None  # hashed, not parsed
    return subject


@pytest.mark.parametrize("serial", [0x1001, 0x7F, 0x80, 0x80FF, 0xFFFFFFFF, (1 << 159) - 1])
def test_request_from_der_is_the_one_cryptography_builds(pki, serial, monkeypatch):
    monkeypatch.setattr(pki, "next_serial", lambda: serial)  # the high bit set: a leading zero byte
    leaf = pki.issue("s%x.example.org" % serial, OCSP_URL)
    assert leaf.cert.serial_number == serial
    subject = with_issuer(_known(leaf), leaf.chain_path)
    assert subject.cert is None and subject.issuer == pki.cert  # not parsed
    der, certid = build_request(subject)
    reference = ocsp.OCSPRequestBuilder().add_certificate(leaf.cert, pki.cert, hashes.SHA1()).build()
    assert der == reference.public_bytes(serialization.Encoding.DER)
    assert (certid.issuer_name_hash, certid.issuer_key_hash, certid.serial) == (
        reference.issuer_name_hash, reference.issuer_key_hash, reference.serial_number)


def test_a_response_verifies_against_a_subject_built_from_der(pki, leaf):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = with_issuer(_known(leaf), leaf.chain_path)
    der, certid = build_request(subject)
    verified = verify_response(pki.response_der(leaf), subject, certid, now)
    assert verified.status == OcspStatus.GOOD
    assert subject.cert is None
    # a response naming the certificate by a SHA-256 CertID: the certificate is parsed for it
    sha256 = pki.response_der(leaf, hash_alg=hashes.SHA256())
    assert verify_response(sha256, subject, certid, now).status == OcspStatus.GOOD
    assert subject.cert is not None and subject.certid("sha256").hash_name == "sha256"


def test_an_issuer_file_without_the_issuer_fails_as_the_parsing_path_does(pki, leaf, tmp_path):
    other = OcspTestCA(str(tmp_path / "other"), name="Another CA")
    with pytest.raises(OcspError, match="no issuer certificate for .*issuer CN=mdfleet OCSP Test CA.* in %s"
                       % other.ca_path):
        with_issuer(_known(leaf), other.ca_path)


def test_a_certificate_file_that_is_not_pem_fails_clearly(pki, leaf, tmp_path):
    subject = _known(leaf)
    subject.der = None
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"no certificate here")
    subject.path, subject.pem = str(bad), None
    with pytest.raises(OcspError, match="holds no readable PEM certificate"):
        with_issuer(subject, leaf.chain_path)


def _certificate(serial_content: bytes) -> bytes:
    """A Certificate's DER that holds just enough to read: version, serial, signature, issuer."""
    name = _der(0x30, _der(0x31, _der(0x30, _der(0x06, b"\x55\x04\x03") + _der(0x0C, b"CA"))))
    tbs = _der(0x30, _der(0xA0, _der(0x02, b"\x02")) + _der(0x02, serial_content) + _der(0x30, b"") + name)
    return _der(0x30, tbs + _der(0x30, b"") + _der(0x03, b"\x00")), name


def test_serial_and_issuer_reads_positive_shortest_serials_only():
    der, name = _certificate(b"\x00\x80\xff")
    assert serial_and_issuer(der) == (b"\x00\x80\xff", name)
    for bad in (b"\x80", b"\xff\x01", b"\x00\x01", b""):  # negative, negative, not shortest, empty
        with pytest.raises(DerError, match="serialNumber"):
            serial_and_issuer(_certificate(bad)[0])
    for bad in (b"", b"\x31\x00", _certificate(b"\x01")[0][:20]):
        with pytest.raises(DerError):
            serial_and_issuer(bad)


def test_a_serial_the_der_path_refuses_is_taken_from_the_parsed_certificate(pki, leaf, monkeypatch):
    from mdcore.ocsp import request

    def refuse(_der):
        raise DerError("serialNumber is not a positive INTEGER in its shortest form")

    monkeypatch.setattr(request, "serial_and_issuer", refuse)
    subject = with_issuer(_known(leaf), leaf.chain_path)
    assert subject.cert is not None and subject.serial_der is None  # parsed, as before
    reference = ocsp.OCSPRequestBuilder().add_certificate(leaf.cert, pki.cert, hashes.SHA1()).build()
    assert build_request(subject)[0] == reference.public_bytes(serialization.Encoding.DER)
