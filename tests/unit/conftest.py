"""Fixtures of the engine's unit tests: a fake clock, a fake CA and a store in tmp_path.

Nothing here touches the network (the fake CA answers the engine's HTTP interface) or really sleeps
(FakeClock.sleep advances the clock).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mdcore.acme.account import AccountOptions, AccountStore, ensure_account
from mdcore.acme.jws import AccountKey
from mdcore.acme.resources import AccountRef
from mdcore.acme.transport import AcmeTransport
from mdcore.clock import Deadline, FakeClock
from mdcore.config import MdConfig, md_config_from_dict
from mdcore.manager import MdResult, ensure_md
from mdcore.store import Store

from .fakeacme import FakeAcme
from .helpers import FakeNet
from .testca import TestCA

CA_URL = "https://ca.test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    return TestCA()


@pytest.fixture
def fake_ca(clock: FakeClock, test_ca: TestCA) -> FakeAcme:
    return FakeAcme(clock, test_ca, CA_URL)


@pytest.fixture
def transport(fake_ca: FakeAcme, clock: FakeClock) -> AcmeTransport:
    return AcmeTransport(fake_ca.directory_url, clock, http=fake_ca.http())


@pytest.fixture
def deadline(clock: FakeClock) -> Deadline:
    return Deadline(clock, 300)


@pytest.fixture
def store(tmp_path: Any, clock: FakeClock) -> Store:
    return Store(str(tmp_path / "store"), clock).setup()


@pytest.fixture
def account(transport: AcmeTransport, store: Store, deadline: Deadline) -> tuple[AccountRef, AccountKey]:
    return ensure_account(transport, AccountStore(store.path("accounts")), AccountOptions(), deadline)


@pytest.fixture
def make_cfg(fake_ca: FakeAcme) -> Callable[..., MdConfig]:
    """An MdConfig from module-style options; defaults: one fake CA, webroot http-01, p256."""

    def make(domains: list[str] | None = None, **options: Any) -> MdConfig:
        doc: dict = {
            "domains": domains or ["www.example.org"],
            "acme_directory": fake_ca.directory_url,
            "agree_tos": True,
            "order_timeout": 120,
        }
        doc.update(options)
        return md_config_from_dict(doc)

    return make


@pytest.fixture
def net(fake_ca: FakeAcme) -> FakeNet:
    return FakeNet(fake_ca)


@pytest.fixture
def run_md(store: Store, clock: FakeClock, net: FakeNet, fake_ca: FakeAcme) -> Callable[..., MdResult]:
    """ensure_md against the fake CA(s); the CA validates http-01 by reading the store's challenges/."""
    fake_ca.webroot = store.challenges_dir

    def run(cfg: MdConfig, **kwargs: Any) -> MdResult:
        for ca in net.cas.values():
            ca.webroot = store.challenges_dir
        return ensure_md(store, cfg, clock, transport_factory=net.transport, lock_wait=1, **kwargs)

    return run
