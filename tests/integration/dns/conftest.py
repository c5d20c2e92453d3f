"""The rfc2136 tests run each case against both primaries of the DNS lab (fixture dns_servers)."""

from __future__ import annotations

import pytest

from peers.dnslab import DnsLab, DnsSite


@pytest.fixture
def lab(dns_servers: DnsLab) -> DnsLab:
    return dns_servers


@pytest.fixture(params=["bind", "knot"])
def dns_site(request: pytest.FixtureRequest, dns_servers: DnsLab) -> DnsSite:
    """The same test against each primary, validated by a pebble resolving through it."""
    return dns_servers.site(request.param)
