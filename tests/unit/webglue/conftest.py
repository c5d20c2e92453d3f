"""Fixtures of the webglue unit tests: a store with an active certificate (test PKI), a staple
book entry written as stapling writes it, and the glue's folders. The glue trusts the book, so a
book entry's response here is any bytes; what the entry says is what is tested."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from mdcore.clock import FakeClock
from mdcore.ocsp.persist import StapleBook
from mdcore.ocsp.request import pem_der_sha256
from mdcore.ocsp.state import OcspStatus, StapleState
from mdcore.store import Store
from mdcore.webglue.config import GlueConfig, Server
from peers.ocsp_pki import OcspTestCA, install_md

MD = "www.example.org"
DAY = datetime.timedelta(days=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> OcspTestCA:
    return OcspTestCA(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def leaf(pki):
    return pki.issue(MD, "http://ocsp.test/")


@pytest.fixture
def store(tmp_path, clock, leaf) -> Store:
    store = Store(str(tmp_path / "store"), clock).setup()
    install_md(store, MD, leaf)
    return store


@pytest.fixture
def web(tmp_path) -> Path:
    for sub in ("stapling", "ocsp", "certs"):
        (tmp_path / "web" / sub).mkdir(parents=True)
    return tmp_path / "web"


def glue(store: Store, web: Path, server: str = Server.NGINX, **extra) -> GlueConfig:
    return GlueConfig(path="webglue.json", server=server, store=store.root, nginx_stapling_dir=str(web / "stapling"),
                      nginx_ocsp_dir=str(web / "ocsp"), haproxy_cert_dir=str(web / "certs"), **extra)


@dataclass
class Staple:
    der: bytes
    state: StapleState


def book_entry(store: Store, clock: FakeClock, md: str = MD, key_type: str = "p256", *, der: bytes = b"DER-1",
               status: str = OcspStatus.GOOD, cert_pem: bytes | None = None, days_left: float = 3.0) -> Staple:
    """Put an entry into the store's staple book as stapling would after verifying ``der``."""
    cert_pem = cert_pem if cert_pem is not None else Path(store.active_dir(md), key_type, "cert.pem").read_bytes()
    now = clock.now()
    state = StapleState(cert_path=os.path.join(store.active_dir(md), key_type, "cert.pem"),
                        cert_sha256=pem_der_sha256(cert_pem) or "", md=md, key_type=key_type, status=status,
                        this_update=now - DAY, next_update=now + days_left * DAY, fetched_at=now,
                        response=base64.b64encode(der).decode(), response_sha256=hashlib.sha256(der).hexdigest())
    book = StapleBook.load(store)
    book.put("%s/%s" % (md, key_type), state)
    book.save()
    return Staple(der, state)
