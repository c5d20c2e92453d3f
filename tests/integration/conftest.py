"""Real peers for integration tests: pebble + challtestsrv (ACME CA and its DNS), nginx, and the
authoritative DNS servers of the rfc2136 tests (BIND, Knot: peers/dnslab.py).

Session-scoped and started lazily: a run that uses no peer starts none. A missing binary skips
the test with the reason, except in CI (CI=true), where it fails: CI must never go green by
skipping its real peers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.challtestsrv import ChallTestSrv
from peers.dnslab import DnsLab, dns_lab
from peers.nginx import NGINX, Nginx
from peers.pebble import SID_PEBBLE, SID_PROFILES, Pebble, PebbleFactory, make_eab_keys
from peers.require import need


@pytest.fixture(scope="session")
def challtestsrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    """Mock DNS for pebble: every name is 127.0.0.1 unless add_a() says otherwise."""
    srv = ChallTestSrv(tmp_path_factory.mktemp("challtestsrv"), binary=need("pebble-challtestsrv"))
    with srv:
        yield srv


@pytest.fixture(scope="session")
def nginx_challenges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx on 127.0.0.1:<http_port> serving /.well-known/acme-challenge/ (see http01_webroot)."""
    with Nginx(tmp_path_factory.mktemp("nginx"), binary=need(NGINX)) as nginx:
        yield nginx


@pytest.fixture(scope="session")
def pebble_factory(
    tmp_path_factory: pytest.TempPathFactory, challtestsrv: ChallTestSrv
) -> Generator[PebbleFactory, None, None]:
    """make(**Pebble kwargs, fresh=False) -> a running Pebble using `challtestsrv` as its DNS.

    Same kwargs -> same instance for the session (pebble starts in < 1 s, but its accounts and
    orders are worth sharing like a real CA's); fresh=True always starts a new one. Examples:
    make(env={"PEBBLE_WFE_NONCEREJECT": "50"}), make(ocsp_url="http://127.0.0.1:4002"),
    make(binary="/path/to/pebble-2.10", extra_config={"profiles": {...}}).
    """
    binary = need("pebble")
    started: dict[str, Pebble] = {}
    all_started: list[Pebble] = []

    def make(fresh: bool = False, **kwargs: Any) -> Pebble:
        key = json.dumps(kwargs, sort_keys=True, default=str)
        if fresh or key not in started:
            kwargs.setdefault("binary", binary)
            pebble = Pebble(tmp_path_factory.mktemp("pebble"), challtestsrv, **kwargs).start()
            all_started.append(pebble)
            if not fresh:
                started[key] = pebble
        return started[key] if not fresh else all_started[-1]

    yield make
    for pebble in all_started:
        pebble.stop()


@pytest.fixture(scope="session")
def pebble(pebble_factory: PebbleFactory, nginx_challenges: Nginx) -> Pebble:
    """Pebble validating http-01 against nginx_challenges (use with http01_webroot)."""
    return pebble_factory(http_port=nginx_challenges.http_port)


@pytest.fixture(scope="session")
def pebble_standalone(pebble_factory: PebbleFactory) -> Pebble:
    """Pebble validating http-01 on 127.0.0.1:<pebble_standalone.http_port>, where nothing
    listens: the engine's standalone solver binds it. tls-alpn-01 goes to .tls_port."""
    return pebble_factory()


@pytest.fixture(scope="session")
def pebble_eab(pebble_factory: PebbleFactory, nginx_challenges: Nginx) -> Pebble:
    """Pebble requiring External Account Binding; keys in .eab_keys {kid: b64url HMAC key}."""
    return pebble_factory(http_port=nginx_challenges.http_port, eab_keys=make_eab_keys())


@pytest.fixture(scope="session")
def pebble_ari(pebble_factory: PebbleFactory, nginx_challenges: Nginx) -> Pebble:
    """Debian sid's pebble 2.10 (ARI at directory["renewalInfo"], profiles "default" and
    "shortlived" in directory["meta"]["profiles"]), validating http-01 against nginx_challenges."""
    return pebble_factory(
        binary=need(SID_PEBBLE), http_port=nginx_challenges.http_port, extra_config={"profiles": SID_PROFILES}
    )


@pytest.fixture(scope="session")
def pebble_persist(pebble_factory: PebbleFactory) -> Pebble:
    """Debian sid's pebble 2.10 for dns-persist-01 (TXT records in challtestsrv), reusing an authorization
    only 1 time in 100 (the least PEBBLE_AUTHZREUSE allows), so that orders almost always validate the record."""
    return pebble_factory(binary=need(SID_PEBBLE), env={"PEBBLE_AUTHZREUSE": "0"})


@pytest.fixture
def txt(challtestsrv: ChallTestSrv) -> Iterator[Callable[[str, str], None]]:
    """set(name, value): a TXT value in challtestsrv, cleared again after the test."""
    names: list[str] = []

    def put(name: str, value: str) -> None:
        names.append(name)
        challtestsrv.set_txt(name, value)

    yield put
    for name in names:
        challtestsrv.clear_txt(name)


@pytest.fixture
def http01_webroot(nginx_challenges: Nginx, tmp_path: Path) -> Path:
    """A fresh folder that nginx_challenges serves for this test (token files go inside).

    To serve an engine store's own challenges/ folder instead: nginx_challenges.serve(path).
    """
    webroot = tmp_path / "challenges"
    nginx_challenges.serve(webroot)
    return webroot


@pytest.fixture(scope="module")
def dns_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsLab]:
    """BIND and Knot primaries, a Knot secondary and a recursive BIND on loopback (peers/dnslab.py),
    once per module; .pebble_via(server) gives a pebble resolving through one of them."""
    need("dig")
    need("kdig")
    with dns_lab(tmp_path_factory.mktemp, named=need("named"), knotd=need("knotd"), pebble=need("pebble")) as lab:
        yield lab
