"""How a CA's transport takes proxy and CA bundle: explicit options first, the environment
(HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) as requests would read it, read once per CA; and one
transport per CA shared by every order."""

from __future__ import annotations

import pytest

from mdcore.clock import FakeClock
from mdcore.config import md_config_from_dict
from mdcore.issuance import _TRANSPORTS, transport_for

CLOCK = FakeClock()


@pytest.fixture(autouse=True)
def fresh_transports():
    saved = dict(_TRANSPORTS)
    _TRANSPORTS.clear()
    yield
    _TRANSPORTS.clear()
    _TRANSPORTS.update(saved)


def cfg(**extra):
    doc = {"domains": ["env.example"], "acme_directory": "https://ca.test/dir"}
    doc.update(extra)
    return md_config_from_dict(doc)


def route(c) -> str | None:
    return transport_for(c.cas[0], c, CLOCK).http.route(c.cas[0].url)


def test_environment_proxy_applies_to_the_ca_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert route(cfg()) == "http://proxy.test:3128"


def test_no_proxy_exempts_the_ca_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "ca.test")
    monkeypatch.delenv("no_proxy", raising=False)
    assert route(cfg()) is None


def test_explicit_proxy_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.test:3128")
    assert route(cfg(proxy="http://user:secret@configured.test:8080")) == "http://configured.test:8080"


def test_environment_is_read_once_per_ca(monkeypatch):
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://first.test:3128")
    c = cfg()
    assert route(c) == "http://first.test:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://second.test:3128")
    assert route(c) == "http://first.test:3128"  # not on every request


def test_ca_bundle_option_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/bundle.pem")
    bundle = tmp_path / "private-ca.pem"
    bundle.write_text("")
    with_option = cfg(ca_bundle=str(bundle))
    assert transport_for(with_option.cas[0], with_option, CLOCK).options.verify == str(bundle)
    from_env = cfg()
    assert transport_for(from_env.cas[0], from_env, CLOCK).options.verify == "/env/bundle.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert transport_for(from_env.cas[0], from_env, CLOCK).options.verify is True


def test_one_transport_per_ca_is_shared():
    c = cfg()
    other = cfg(acme_directory="https://other.test/dir")
    first = transport_for(c.cas[0], c, CLOCK)
    assert transport_for(c.cas[0], c, CLOCK) is first  # one directory, nonce pool and connection pool
    assert transport_for(other.cas[0], other, CLOCK) is not first
    assert transport_for(c.cas[0], cfg(request_timeout=5), CLOCK) is not first
