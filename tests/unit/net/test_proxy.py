"""Proxies from the environment: the engine reads them itself (urllib.request is not imported at
start-up) and must decide as urllib.request does, which requests follows too."""

from __future__ import annotations

import urllib.request

import pytest

from mdcore.net.proxy import environment_proxy

CASES = [
    ({"https_proxy": "http://p:1"}, "https", "ca.test"),
    ({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}, "https", "x"),
    ({"https_proxy": "http://p:1", "no_proxy": "ca.test"}, "https", "ca.test:443"),
    ({"https_proxy": "http://p:1", "no_proxy": ".test"}, "https", "ca.test"),
    ({"https_proxy": "http://p:1", "no_proxy": "*"}, "https", "x"),
    ({"all_proxy": "http://a:1"}, "http", "x"),
    ({"http_proxy": "http://p:1", "NO_PROXY": "other, 127.0.0.1"}, "http", "127.0.0.1:8080"),
    ({"http_proxy": "http://p:1", "no_proxy": "ca.test:8443"}, "http", "ca.test:8443"),
    ({"http_proxy": "http://p:1", "no_proxy": "[::1]"}, "http", "[::1]:80"),
    ({"http_proxy": "http://p:1", "no_proxy": "test"}, "http", "mytest"),  # a suffix, not a domain
    ({"HTTP_PROXY": "http://p:1", "http_proxy": ""}, "http", "x"),  # empty lower-case switches it off
    ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "x"),  # CGI: httpoxy
    ({}, "https", "x"),
]


@pytest.mark.parametrize("env, scheme, netloc", CASES)
def test_decides_as_urllib_does(monkeypatch, env, scheme, netloc):
    import os

    for name in [n for n in os.environ if n.lower().endswith("_proxy") or n == "REQUEST_METHOD"]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = urllib.request.getproxies_environment()
    want = None
    if found and not urllib.request.proxy_bypass_environment(netloc, found):
        want = found.get(scheme) or found.get("all")
    assert environment_proxy(scheme, netloc) == want
