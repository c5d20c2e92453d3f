"""Property-based tests (hypothesis) over what an OCSP responder sends (issue 10 item 6): any
bytes, valid responses with bytes changed, and responses built with any status, times, signer and
hash are verified into a sane response (a certificate status, a nextUpdate ahead) or refused with
an OcspError, never another exception; and a stapling run whose responder answers anything (any
HTTP status, content type, body) reports it in its result, keeps the staple book readable and
never raises."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from mdcore.clock import FakeClock
from mdcore.errors import OcspError
from mdcore.net import Headers
from mdcore.ocsp import HttpReply, OcspStatus, StapleTarget, StaplingConfig, Transport, refresh_staples
from mdcore.ocsp.persist import stored_entries
from mdcore.ocsp.request import build_request, load_subject
from mdcore.ocsp.verify import verify_response
from mdcore.status import build_status, render_html
from mdcore.store import Store
from peers.ocsp_pki import OcspTestCA, unsuccessful_der

from .conftest import OCSP_URL

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(hypothesis.HealthCheck))
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
HOUR = datetime.timedelta(hours=1)


class Pki:
    """One CA, a leaf with an OCSP URL, a delegated responder, and a valid response to change."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="ocsp-props-", dir=SCRATCH)
        self.ca = OcspTestCA(os.path.join(self.folder, "pki"))
        self.leaf = self.ca.issue("www.example.org", OCSP_URL)
        self.delegate = self.ca.issue_responder("Delegated")[:2]
        self.rogue = OcspTestCA(os.path.join(self.folder, "rogue"), name=self.ca.name).issue_responder("Rogue")[:2]
        self.subject = load_subject(self.leaf.cert_path, self.leaf.chain_path, None)
        self.certid = build_request(self.subject)[1]
        self.good = self.ca.response_der(self.leaf, this_update=NOW - HOUR)

    def verify(self, der: bytes):
        try:
            got = verify_response(der, self.subject, self.certid, NOW)
        except OcspError as exc:
            assert str(exc) and "\n" not in str(exc)
            return None
        assert got.status in OcspStatus.CERT_STATUSES
        assert got.next_update > NOW and got.this_update <= NOW + datetime.timedelta(minutes=5)
        return got


@pytest.fixture(scope="module")
def pki():
    made = Pki()
    yield made
    shutil.rmtree(made.folder, ignore_errors=True)  # /dev/shm is memory: nothing may stay behind


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_are_a_response_or_an_ocsp_error(pki, data):
    assert pki.verify(data) is None


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), min_size=1, max_size=4),
       st.sampled_from(["replace", "truncate", "insert"]))
def test_a_changed_response_is_refused_or_still_sane(pki, edits, how):
    data = bytearray(pki.good)
    for where, byte in edits:
        spot = where % len(data)
        if how == "replace":
            data[spot] = byte
        elif how == "truncate":
            del data[spot:]
            if not data:
                break
        else:
            data.insert(spot, byte)
    pki.verify(bytes(data))


@SETTINGS
@given(status=st.sampled_from([ocsp.OCSPCertStatus.GOOD, ocsp.OCSPCertStatus.REVOKED, ocsp.OCSPCertStatus.UNKNOWN]),
       this_update=st.integers(-10 ** 6, 10 ** 6), lifetime=st.none() | st.integers(-10 ** 6, 10 ** 7),
       signer=st.sampled_from(["issuer", "delegate", "rogue"]), by_key=st.booleans(),
       hash_alg=st.sampled_from([hashes.SHA1(), hashes.SHA256()]),
       unsuccessful=st.none() | st.sampled_from(list(ocsp.OCSPResponseStatus)[1:]))
def test_a_response_of_any_status_time_and_signer_is_judged(
        pki, status, this_update, lifetime, signer, by_key, hash_alg, unsuccessful):
    if unsuccessful is not None:
        assert pki.verify(unsuccessful_der(unsuccessful)) is None
        return
    start = NOW + datetime.timedelta(seconds=this_update)
    der = pki.ca.response_der(
        pki.leaf, status=status, this_update=start, by_key=by_key, hash_alg=hash_alg,
        next_update=start + datetime.timedelta(seconds=lifetime) if lifetime is not None else None,
        no_next_update=lifetime is None, signer={"issuer": None, "delegate": pki.delegate, "rogue": pki.rogue}[signer])
    got = pki.verify(der)
    if got is not None:
        assert signer != "rogue" and lifetime is not None and got.status == {
            ocsp.OCSPCertStatus.GOOD: OcspStatus.GOOD, ocsp.OCSPCertStatus.REVOKED: OcspStatus.REVOKED,
            ocsp.OCSPCertStatus.UNKNOWN: OcspStatus.UNKNOWN}[status]


class Answers(Transport):
    """A responder that answers whatever the example says."""

    def __init__(self, status: int, content_type: str | None, body: bytes) -> None:
        self.status, self.content_type, self.body = status, content_type, body

    def exchange(self, method, url, body, deadline, headers=None):
        reply_headers = Headers({"content-type": self.content_type} if self.content_type else {})
        return HttpReply(self.status, reply_headers, self.body, url)


@SETTINGS
@given(status=st.sampled_from([200, 204, 301, 404, 500, 503]),
       content_type=st.sampled_from(["application/ocsp-response", "text/html", None]),
       body=st.binary(max_size=200) | st.sampled_from(["good", "garbage", "unsuccessful"]),
       rounds=st.integers(1, 2))
def test_a_stapling_run_with_any_answer_reports_it(pki, status, content_type, body, rounds):
    payload = {"good": pki.good, "garbage": pki.good[:40] + b"\0" * 40,
               "unsuccessful": unsuccessful_der()}.get(body, body) if isinstance(body, str) else body
    clock = FakeClock(start=NOW)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        store = Store(os.path.join(tmp, "store"), clock).setup()
        target = StapleTarget(cert_path=pki.leaf.cert_path, issuer_path=pki.leaf.chain_path,
                              staple_file=os.path.join(tmp, "staple.der"))
        for _round in range(rounds):
            (result,) = refresh_staples(store, [target], clock, transport=Answers(status, content_type, payload),
                                        config=StaplingConfig(workers=1))
            assert result.error is None or ("\n" not in result.error and result.error)
            clock.advance(86400)
        stored_entries(store)  # the book reads
        render_html(build_status(store, clock, others=[pki.leaf.cert_path]))
