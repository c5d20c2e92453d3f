"""Fixtures of the stapling integration tests: a private network namespace per test (openssl ocsp
listens on all addresses), a test PKI, a real `openssl ocsp` responder, a scriptable fault one.

Run as root (`pytest tests/integration/ocsp`): each test enters a fresh network namespace that has
only `lo` (unshare(CLONE_NEWNET) of the test's thread, undone after the test), so every peer and
client the test starts is confined to it. Session-wide peers of other folders (pebble, nginx for
http-01) are set up before and stay in the host's namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from peers.ocsp_fault_responder import FaultResponder
from peers.ocsp_pki import OcspTestCA
from peers.ocsp_responder import OpensslOcspResponder, in_private_netns, private_netns
from peers.require import IN_CI, need


@pytest.fixture
def netns() -> Iterator[None]:
    need("ip")
    need("openssl")
    if os.geteuid() != 0:
        reason = "OCSP integration tests need root for a private network namespace (unshare -n)"
        if IN_CI:
            pytest.fail(reason + "; CI=true, so this is an error", pytrace=False)
        pytest.skip(reason)
    with private_netns():
        assert in_private_netns()
        yield


@pytest.fixture
def pki(tmp_path) -> OcspTestCA:
    return OcspTestCA(str(tmp_path / "pki"))


@pytest.fixture
def responder(tmp_path, pki, netns) -> Iterator[OpensslOcspResponder]:
    """An openssl ocsp responder for ``pki`` (not started: issue leaves with its URL, then start)."""
    resp = OpensslOcspResponder(tmp_path / "openssl-ocsp", pki, nmin=60)
    yield resp
    resp.stop()


@pytest.fixture
def fault(pki, netns) -> Iterator[FaultResponder]:
    with FaultResponder(pki) as responder:
        yield responder


@pytest.fixture
def web(tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    return folder
