"""Fixtures of the stapling unit tests: a test PKI, a fake HTTP transport answering with
responses built by the scriptable fault responder's logic, a FakeClock near real time (the test
PKI's certificates are valid around now), and a store with managed certificates."""

from __future__ import annotations

import base64
import datetime
import random
import urllib.parse

import pytest

from mdcore.clock import FakeClock
from mdcore.errors import OcspError
from mdcore.net import Headers
from mdcore.ocsp import HttpReply, StaplingConfig, Transport
from mdcore.store import Store
from peers.ocsp_fault_responder import Fault, FaultResponder
from peers.ocsp_pki import OcspTestCA

OCSP_URL = "http://ocsp.test/"


@pytest.fixture
def clock() -> FakeClock:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return FakeClock(start=now)


@pytest.fixture
def pki(tmp_path) -> OcspTestCA:
    return OcspTestCA(str(tmp_path / "pki"))


@pytest.fixture
def leaf(pki):
    return pki.issue("www.example.org", OCSP_URL)


@pytest.fixture
def store(tmp_path, clock) -> Store:
    return Store(str(tmp_path / "store"), clock).setup()


class FakeTransport(Transport):
    """Answers like a responder in ``mode`` (a Fault), at the fake clock's time; records calls.
    ``error``: raise this OcspError instead (connection refused, deadline...)."""

    def __init__(self, responder: FaultResponder) -> None:
        self.responder = responder
        self.calls: list[tuple[str, str]] = []
        self.error: str | None = None

    @property
    def mode(self) -> str:
        return self.responder.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.responder.mode = value

    def exchange(self, method, url, body, deadline, headers=None):
        self.calls.append((method, url))
        if self.error:
            raise OcspError(self.error)
        if method == "GET":
            body = base64.b64decode(urllib.parse.unquote(url.rsplit("/", 1)[1]))
        if self.mode == Fault.HANG:
            deadline.clock.advance(deadline.seconds)
            raise OcspError("responder ocsp.test did not answer within %gs" % deadline.seconds)
        status, payload = self.responder.build(self.mode, body)
        return HttpReply(status, Headers({"content-type": "application/ocsp-response"}), payload, url)


@pytest.fixture
def http(pki, clock) -> FakeTransport:
    return FakeTransport(FaultResponder(pki, now=clock.now, lifetime=datetime.timedelta(days=4)))


@pytest.fixture
def config() -> StaplingConfig:
    return StaplingConfig(workers=1)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(4711)
