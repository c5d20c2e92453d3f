"""The DNS servers of the rfc2136 tests and bench, all on loopback with zones written here:

    BIND primary   127.0.0.1:B  bind.test (key acme-update may change TXT), locked.bind.test (no key),
                                slow.test and stale.test (NS on 127.0.0.1 and 127.0.0.2)
    Knot primary   127.0.0.1:K  knot.test (key acme-update-512), locked.knot.test (no key),
                                validation.test (only key acme-delegated: the acme-dns style zone)
    Knot secondary 127.0.0.2:B  slow.test (polls BIND every 2 s, Knot's shortest), stale.test (hourly)
    BIND resolver  127.0.0.1:R  recursive, forwards each zone to its server (a CA's resolver:
                                follows _acme-challenge.cname.bind.test CNAME cname.validation.test.)

and a pebble per DNS server it should resolve through (pebble -dnsserver), started when first
asked for. Every NS record points at 127.0.0.1 or 127.0.0.2, and the engine asks name servers
on rfc2136.nameserver_port (the servers' port), so nothing ever leaves loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .authdns import AuthDns, DnsKey, DnsZone
from .bind import Bind
from .knot import Knot
from .pebble import Pebble
from .ports import free_port

ACME_KEY = DnsKey("acme-update", "hmac-sha256")
ACME_KEY_512 = DnsKey("acme-update-512", "hmac-sha512")
DELEGATED_KEY = DnsKey("acme-delegated", "hmac-sha512")
PRIMARY, SECONDARY = "127.0.0.1", "127.0.0.2"


@dataclass
class DnsSite:
    """Where an order is issued: the primary it updates, the zone and key, and the pebble that
    validates it."""

    kind: str
    server: AuthDns
    pebble: Pebble
    zone: str
    key: DnsKey

    def rfc2136(self, **extra) -> dict:
        """The rfc2136 settings of a managed domain issued here."""
        settings = {"server": self.server.server, "nameserver_port": self.server.port, "timeout": 5,
                    "propagation_timeout": 30}
        settings.update(self.key.settings())
        settings.update(extra)
        return settings


@dataclass
class DnsLab:
    bind: Bind
    knot: Knot
    secondary: Knot
    resolver: Bind
    workdir: Callable[[str], Path]
    pebble_binary: str = "pebble"
    pebbles: dict[str, Pebble] = field(default_factory=dict)

    def pebble_via(self, server: AuthDns) -> Pebble:
        """A pebble resolving through ``server`` (one per server, started when first asked for)."""
        if server.server not in self.pebbles:
            self.pebbles[server.server] = Pebble(self.workdir("pebble"), None, binary=self.pebble_binary,
                                                 dns_server=server.server).start()
        return self.pebbles[server.server]

    def site(self, kind: str) -> DnsSite:
        """bind or knot: its main zone and key, validated by a pebble resolving through it."""
        server = self.bind if kind == "bind" else self.knot
        return DnsSite(kind, server, self.pebble_via(server), "%s.test" % kind,
                       ACME_KEY if kind == "bind" else ACME_KEY_512)

    def site_for(self, server: AuthDns, zone: str, key: DnsKey, pebble_dns: AuthDns) -> DnsSite:
        return DnsSite(server.name, server, self.pebble_via(pebble_dns), zone, key)


@contextmanager
def dns_lab(workdir: Callable[[str], Path], named: str = "named", knotd: str = "knotd",
            pebble: str = "pebble") -> Iterator[DnsLab]:
    """Start the servers above (``workdir(name)`` gives each a fresh folder); stop them all at the end."""
    started: list = []

    def run(peer):
        started.append(peer.start())
        return peer

    try:
        port_b = free_port(PRIMARY, udp_too=True, also_on=(SECONDARY,))
        bind = run(Bind(workdir("bind"), [ACME_KEY], [
            DnsZone("bind.test", {"ns1.bind.test": PRIMARY}, update_keys=[ACME_KEY.name],
                    records=["_acme-challenge.cname 60 IN CNAME cname.validation.test."]),
            DnsZone("locked.bind.test", {"ns1.bind.test": PRIMARY}),
            DnsZone("slow.test", {"ns1.slow.test": PRIMARY, "ns2.slow.test": SECONDARY},
                    update_keys=[ACME_KEY.name], refresh=2),
            DnsZone("stale.test", {"ns1.stale.test": PRIMARY, "ns2.stale.test": SECONDARY},
                    update_keys=[ACME_KEY.name], refresh=3600),
        ], binary=named, port=port_b))
        knot = run(Knot(workdir("knot"), [ACME_KEY_512, DELEGATED_KEY], [
            DnsZone("knot.test", {"ns1.knot.test": PRIMARY}, update_keys=[ACME_KEY_512.name]),
            DnsZone("locked.knot.test", {"ns1.knot.test": PRIMARY}),
            DnsZone("validation.test", {"ns1.knot.test": PRIMARY}, update_keys=[DELEGATED_KEY.name]),
        ], binary=knotd))
        secondary = run(Knot(workdir("knot-secondary"), [], [
            DnsZone(name, {}, primary=(PRIMARY, port_b)) for name in ("slow.test", "stale.test")
        ], binary=knotd, address=SECONDARY, port=port_b))
        forward = {"": bind.server, **{z.name: bind.server for z in bind.zones},
                   **{z.name: knot.server for z in knot.zones}}
        resolver = run(Bind(workdir("resolver"), [], [], binary=named, forward=forward))
        lab = DnsLab(bind, knot, secondary, resolver, workdir, pebble)
        try:
            yield lab
        finally:
            started.extend(lab.pebbles.values())
    finally:
        for peer in reversed(started):
            peer.stop()
