"""Response verification: every check and its reason, on cryptography 38 and newer."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from mdcore.errors import OcspError
from mdcore.ocsp import OcspStatus
from mdcore.ocsp.request import build_request, get_url, load_subject
from mdcore.ocsp.verify import ISSUER, verify_response
from peers.ocsp_fault_responder import Fault, FaultResponder

from .conftest import OCSP_URL

DAY = datetime.timedelta(days=1)


def _subject(leaf, issuer=True):
    return load_subject(leaf.cert_path, leaf.chain_path if issuer else None, None)


def _verify(pki, leaf, der, now):
    subject = _subject(leaf)
    certid = build_request(subject)[1]
    return verify_response(der, subject, certid, now)


def test_good_signed_by_issuer(pki, leaf, clock):
    now = clock.now()
    der = pki.response_der(leaf, this_update=now - datetime.timedelta(minutes=5), lifetime=4 * DAY)
    got = _verify(pki, leaf, der, now)
    assert got.status == OcspStatus.GOOD
    assert got.responder_id == ISSUER
    assert got.this_update == now - datetime.timedelta(minutes=5)
    assert got.next_update == got.this_update + 4 * DAY
    assert got.this_update.tzinfo is not None and got.der == der


def test_responder_by_key_hash_and_sha256_certid(pki, leaf, clock):
    now = clock.now()
    der = pki.response_der(leaf, this_update=now, by_key=True, hash_alg=hashes.SHA256())
    assert _verify(pki, leaf, der, now).status == OcspStatus.GOOD


def test_delegated_responder(pki, leaf, clock):
    cert, key = pki.issue_responder("Delegated")[:2]
    der = pki.response_der(leaf, this_update=clock.now(), signer=(cert, key))
    got = _verify(pki, leaf, der, clock.now())
    assert got.responder_id == "CN=Delegated"


@pytest.mark.parametrize("mode, reason", [
    (Fault.WRONG_KEY, "signature does not verify with the key of the issuer"),
    (Fault.ROGUE_DELEGATE, "certificate the issuer did not sign"),
    (Fault.DELEGATE_NO_EKU, "without id-kp-OCSPSigning"),
    (Fault.OTHER_CERT, "response is for another certificate"),
    (Fault.EXPIRED, "response expired: nextUpdate"),
    (Fault.FUTURE, "thisUpdate"),
    (Fault.NO_NEXT_UPDATE, "no nextUpdate"),
    (Fault.TRY_LATER, "responder answered 'tryLater'"),
    (Fault.GARBAGE, "do not parse as DER OCSPResponse"),
])
def test_hostile_responses_rejected_with_reason(pki, leaf, clock, mode, reason):
    pki.issue("another.example.org", None)
    responder = FaultResponder(pki, now=clock.now)
    subject = _subject(leaf)
    request, certid = build_request(subject)
    der = responder.build(mode, request)[1]
    with pytest.raises(OcspError) as err:
        verify_response(der, subject, certid, clock.now())
    assert reason in str(err.value)


def test_delegate_not_valid_now(pki, leaf, clock):
    cert, key = pki.issue_responder("Short", days=1)[:2]
    der = pki.response_der(leaf, this_update=clock.now(), signer=(cert, key))
    later = clock.now() + 3 * DAY
    with pytest.raises(OcspError, match="not valid now"):
        _verify(pki, leaf, der, later)


def test_unknown_signer_without_certificate(pki, leaf, clock):
    cert, key = pki.issue_responder("Anonymous")[:2]
    der = pki.response_der(leaf, this_update=clock.now(), signer=(cert, key), certs=[])
    with pytest.raises(OcspError, match="unknown responder"):
        _verify(pki, leaf, der, clock.now())


def test_small_clock_skew_is_accepted(pki, leaf, clock):
    der = pki.response_der(leaf, this_update=clock.now() + datetime.timedelta(minutes=2))
    assert _verify(pki, leaf, der, clock.now()).status == OcspStatus.GOOD


def test_revoked_with_time_and_reason(pki, leaf, clock):
    when = clock.now() - DAY
    pki.revoke(leaf, "key_compromise", when)
    der = pki.response_der(leaf, this_update=clock.now())
    got = _verify(pki, leaf, der, clock.now())
    assert got.status == OcspStatus.REVOKED
    assert got.revocation_time == when
    assert got.revocation_reason == "keyCompromise"


def test_unknown_status(pki, leaf, clock):
    der = pki.response_der(leaf, this_update=clock.now(), status=ocsp.OCSPCertStatus.UNKNOWN)
    assert _verify(pki, leaf, der, clock.now()).status == OcspStatus.UNKNOWN


def test_issuer_from_fullchain_and_missing_issuer(pki, leaf):
    assert load_subject(leaf.fullchain_path, None, None).issuer.subject == pki.cert.subject
    with pytest.raises(OcspError, match="no issuer certificate"):
        load_subject(leaf.cert_path, None, None)
    with pytest.raises(OcspError, match="cannot read certificate"):
        load_subject(leaf.cert_path + ".missing", None, None)


def test_responder_override_and_get_form(pki, leaf):
    subject = load_subject(leaf.cert_path, leaf.chain_path, "http://other.test/ocsp")
    assert subject.responder_url == "http://other.test/ocsp"
    request = build_request(subject)[0]
    url = get_url(subject.responder_url, request)
    assert url.startswith("http://other.test/ocsp/ME") and len(url) < 255 + len("http://other.test/ocsp/")
    assert get_url("http://x.test", request * 3) is None


def test_der_hash_without_parsing_matches_parsed(leaf):
    import hashlib

    from cryptography.hazmat.primitives import serialization

    from mdcore.ocsp.request import pem_der_sha256, read_subject

    with open(leaf.fullchain_path, "rb") as handle:
        pem = handle.read()
    assert pem_der_sha256(pem) == hashlib.sha256(leaf.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert pem_der_sha256(b"no pem here") is None
    known = read_subject(leaf.cert_path, None, pem_der_sha256(pem), "http://known.test/")
    assert known.cert is None and known.responder_url == "http://known.test/"  # not parsed
    fresh = read_subject(leaf.cert_path, None, "other-digest", "http://known.test/")
    assert fresh.cert is not None and fresh.responder_url == OCSP_URL


@pytest.mark.parametrize("data, reason", [
    ({"cert": "/x.pem", "bogus": 1}, "unknown stapling option 'bogus'"),
    ({"chain": "/x.pem"}, "needs 'cert'"),
    ({"cert": "/x.pem", "responder": "ldap://x"}, "must be an http:// or https:// URL"),
])
def test_target_options_are_checked(data, reason):
    from mdcore.errors import ConfigError
    from mdcore.ocsp import StapleTarget

    with pytest.raises(ConfigError, match=reason):
        StapleTarget.from_dict(data)
    target = StapleTarget.from_dict({"cert": "/c.pem", "issuer": "/i.pem", "staple_file": None})
    assert (target.cert_path, target.issuer_path, target.staple_file) == ("/c.pem", "/i.pem", None)


def test_request_encoding_matches_cryptography(pki):
    from cryptography.hazmat.primitives import serialization

    for serial_leaf in [pki.issue("r%d.example.org" % i, OCSP_URL) for i in range(3)]:
        subject = _subject(serial_leaf)
        der, certid = build_request(subject)
        reference = ocsp.OCSPRequestBuilder().add_certificate(serial_leaf.cert, pki.cert, hashes.SHA1()).build()
        assert der == reference.public_bytes(serialization.Encoding.DER)
        assert (certid.issuer_name_hash, certid.issuer_key_hash, certid.serial) == (
            reference.issuer_name_hash, reference.issuer_key_hash, reference.serial_number)
    # serials with the high bit set get their leading zero byte
    from mdcore.ocsp.request import Subject

    odd = Subject("x", b"", "", None, None, cert=type("C", (), {"serial_number": 0x80FF})(), issuer=pki.cert)
    der = build_request(odd)[0]
    assert der.endswith(bytes.fromhex("02030080ff"))
    sha256_der, sha256_id = build_request(_subject(serial_leaf), "sha256")
    assert sha256_id.hash_name == "sha256" and len(sha256_id.issuer_key_hash) == 32
