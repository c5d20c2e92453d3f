"""Fixtures of the fleet unit tests: an issuer's store and members' stores, one fake CA.

The issuer orders a shared domain from the fake CA (real certificates from the unit tests' own
CA), exports it with the engine's export, and the tests import, tamper with or replay that bundle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mdcore.clock import FakeClock
from mdcore.config import MdConfig, md_config_from_dict
from mdcore.fleet.share import export_set
from mdcore.manager import MdResult, ensure_md
from mdcore.store import Store

from ..fakeacme import FakeAcme
from ..helpers import FakeNet

ISSUER, MEMBER, OTHER = "web1", "web2", "web3"
MD = "shop"
NAMES = ["shop.example", "www.shop.example"]


@pytest.fixture
def shared_doc(fake_ca: FakeAcme) -> Callable[..., dict]:
    """The domain entry every host of the fleet has (the role writes the same one everywhere)."""

    def make(**options: Any) -> dict:
        doc: dict = {"name": MD, "domains": list(NAMES), "acme_directory": fake_ca.directory_url,
                     "agree_tos": True, "issuer": ISSUER, "members": [MEMBER, OTHER], "order_timeout": 120}
        doc.update(options)
        return doc

    return make


@pytest.fixture
def shared_cfg(shared_doc: Callable[..., dict]) -> Callable[..., MdConfig]:
    """shared_cfg(host, **options) -> that host's MdConfig of the shared domain."""

    def make(host: str, holder: str | None = None, **options: Any) -> MdConfig:
        return md_config_from_dict(shared_doc(**options), host=host, account_holder=holder)

    return make


@pytest.fixture
def stores(tmp_path: Path, clock: FakeClock) -> dict[str, Store]:
    return {host: Store(str(tmp_path / host), clock).setup() for host in (ISSUER, MEMBER, OTHER)}


@pytest.fixture
def issue(stores: dict[str, Store], clock: FakeClock, net: FakeNet, fake_ca: FakeAcme) -> Callable[..., MdResult]:
    """issue(cfg, host=ISSUER, **ensure_md kwargs): the fake CA validates from that host's store."""

    def run(cfg: MdConfig, host: str = ISSUER, **kwargs: Any) -> MdResult:
        fake_ca.webroot = stores[host].challenges_dir
        return ensure_md(stores[host], cfg, clock, transport_factory=net.transport, lock_wait=1, **kwargs)

    return run


@pytest.fixture
def bundle(issue: Callable[..., MdResult], shared_cfg: Callable[..., MdConfig], stores: dict[str, Store],
           clock: FakeClock) -> bytes:
    """The issuer's first set of the shared domain, exported."""
    cfg = shared_cfg(ISSUER, key_types=["p256", "rsa2048"])
    issue(cfg)
    return export_set(stores[ISSUER], cfg, MD, ISSUER, clock)


@pytest.fixture(scope="session")
def parsed_bundle(tmp_path_factory: pytest.TempPathFactory, test_ca) -> bytes:
    """A bundle made once per session, for the tests that only parse (no store state needed)."""
    clock = FakeClock()
    ca = FakeAcme(clock, test_ca, "https://ca.test")
    store = Store(str(tmp_path_factory.mktemp("fleet") / ISSUER), clock).setup()
    ca.webroot = store.challenges_dir
    doc = {"name": MD, "domains": list(NAMES), "acme_directory": ca.directory_url, "agree_tos": True,
           "issuer": ISSUER, "key_types": ["p256", "rsa2048"]}
    cfg = md_config_from_dict(doc, host=ISSUER)
    ensure_md(store, cfg, clock, transport_factory=FakeNet(ca).transport, lock_wait=1)
    return export_set(store, cfg, MD, ISSUER, clock)


def edit(data: bytes, change: Callable[[dict], None]) -> bytes:
    """The bundle with ``change`` applied to its JSON document."""
    doc = json.loads(data)
    change(doc)
    return json.dumps(doc).encode()
