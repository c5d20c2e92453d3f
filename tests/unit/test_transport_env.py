"""How a CA's HTTP session takes proxy and CA bundle: explicit options first, the environment
(HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) as requests itself would read it, read once per CA."""

from __future__ import annotations

import pytest

from mdcore.clock import FakeClock
from mdcore.config import md_config_from_dict
from mdcore.issuance import _SESSIONS, transport_for


@pytest.fixture(autouse=True)
def fresh_sessions():
    saved = dict(_SESSIONS)
    _SESSIONS.clear()
    yield
    _SESSIONS.clear()
    _SESSIONS.update(saved)


def cfg(**extra):
    doc = {"domains": ["env.example"], "acme_directory": "https://ca.test/dir"}
    doc.update(extra)
    return md_config_from_dict(doc)


def test_environment_proxy_applies_to_the_ca_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    c = cfg()
    transport = transport_for(c.cas[0], c, FakeClock())
    assert transport.session.proxies.get("https") == "http://proxy.test:3128"
    assert transport.session.trust_env is False  # read once, not on every request


def test_no_proxy_exempts_the_ca_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "ca.test")
    c = cfg()
    assert not transport_for(c.cas[0], c, FakeClock()).session.proxies.get("https")


def test_explicit_proxy_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.test:3128")
    c = cfg(proxy="http://configured.test:8080")
    transport = transport_for(c.cas[0], c, FakeClock())
    assert transport.session.proxies == {"http": "http://configured.test:8080", "https": "http://configured.test:8080"}


def test_ca_bundle_option_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/bundle.pem")
    with_option = cfg(ca_bundle="/etc/private-ca.pem")
    assert transport_for(with_option.cas[0], with_option, FakeClock()).options.verify == "/etc/private-ca.pem"
    from_env = cfg()
    assert transport_for(from_env.cas[0], from_env, FakeClock()).options.verify == "/env/bundle.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    _SESSIONS.clear()
    assert transport_for(from_env.cas[0], from_env, FakeClock()).options.verify is True


def test_one_session_per_ca_is_shared(monkeypatch):
    c = cfg()
    first = transport_for(c.cas[0], c, FakeClock())
    second = transport_for(c.cas[0], c, FakeClock())
    assert first.session is second.session and first is not second  # own nonce pools, shared connections
