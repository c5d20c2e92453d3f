"""An in-memory stand-in for DnsClient: authoritative servers with zones, answering with real
dnspython messages (what the engine parses), applying UPDATE messages, and lagging secondaries.

Nothing touches the network; time is the FakeClock's (a secondary's lag is in clock seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mdcore.clock import Deadline, FakeClock
from mdcore.dnsclient.exchange import DnsRefusedError
from mdcore.dnsclient.lookup import fqdn, in_zone
from mdcore.dnsclient.tsig import TsigKey
from mdcore.dnsquery import Nameserver
from mdcore.errors import NetworkError


@dataclass
class Zone:
    name: str
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (name, type) -> rdata texts

    def add(self, name: str, rdtype: str, *values: str) -> Zone:
        self.records.setdefault((fqdn(name), rdtype), []).extend(values)
        return self

    def names(self) -> set[str]:
        return {n for n, _t in self.records}

    def txt(self, name: str) -> list[str]:
        return [v.strip('"') for v in self.records.get((fqdn(name), "TXT"), [])]


def zone(name: str, nameservers: dict[str, str]) -> Zone:
    """A zone with SOA and NS records; nameservers {ns name: IPv4} (in-zone ones get A records)."""
    z = Zone(fqdn(name)).add(name, "SOA", "%s hostmaster.%s 1 60 60 600 60" % (next(iter(nameservers)), fqdn(name)))
    for ns, address in nameservers.items():
        z.add(name, "NS", fqdn(ns))
        if in_zone(ns, name):
            z.add(ns, "A", address)
    return z


@dataclass
class FakeServer:
    zones: list[Zone]
    lag: float = 0.0  # a secondary: answers with the zone as it was `lag` seconds ago
    down: bool = False
    history: list[tuple[float, dict]] = field(default_factory=list)


class FakeDnsClient:
    """query()/update() as DnsClient has them, against FakeServers; records every call."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.servers: dict[Nameserver, FakeServer] = {}
        self.keys: dict[str, TsigKey] = {}  # what the primaries accept
        self.refuse: dict[str, str] = {}  # zone -> rcode the primary answers updates with
        self.queries: list[tuple[Nameserver, str, str, bool]] = []
        self.updates: list[tuple[Nameserver, str, list[tuple[str, str, str]]]] = []  # (op, name, value)

    def serve(self, server: Nameserver, *zones: Zone, lag: float = 0.0) -> FakeServer:
        fake = self.servers[server] = FakeServer(list(zones), lag)
        fake.history.append((self.clock.monotonic(), _copy(fake.zones)))
        return fake

    # -- DnsClient's interface -------------------------------------------------------------
    def query(self, server: Nameserver, name: str, rdtype: str, deadline: Deadline, *, recursion: bool = False):
        self.queries.append((server, fqdn(name), rdtype, recursion))
        fake = self.servers.get(server)
        if fake is None or fake.down:
            raise NetworkError("DNS server %s did not answer the query for %s %s within 10 s" % (server, name, rdtype))
        request = dns.message.make_query(fqdn(name), rdtype)
        response = dns.message.make_response(request)
        response.flags &= ~dns.flags.RA
        holder = self._zone_for(fake, fqdn(name))
        if holder is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        records = self._as_of(fake, holder)
        owner = fqdn(name)
        if (owner, rdtype) in records:
            response.answer.append(_rrset(owner, rdtype, records[(owner, rdtype)]))
        elif (owner, "CNAME") in records:
            response.answer.append(_rrset(owner, "CNAME", records[(owner, "CNAME")]))
        else:
            if not any(n == owner or n.endswith("." + owner) for n, _t in records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_rrset(holder.name, "SOA", records[(holder.name, "SOA")]))
        return response

    def update(self, server: Nameserver, zone_name: str, message, key: TsigKey, names: list[str], deadline: Deadline):
        ops = []
        for rrset in message.update:
            op = "delete" if rrset.deleting == dns.rdataclass.NONE else "add"
            ops += [(op, fqdn(rrset.name.to_text()), rd.to_text()) for rd in rrset]
        self.updates.append((server, fqdn(zone_name), ops))
        if self.keys.get(key.name) != key:
            raise DnsRefusedError("DNS server %s rejected TSIG key %s (NOTAUTH, BADKEY)" % (server, key.name))
        if fqdn(zone_name) in self.refuse:
            raise DnsRefusedError("DNS server %s answered the update of zone %s with %s"
                                  % (server, zone_name, self.refuse[fqdn(zone_name)]))
        fake = self.servers[server]
        target = next(z for z in fake.zones if z.name == fqdn(zone_name))
        for op, name, value in ops:
            values = target.records.setdefault((name, "TXT"), [])
            if op == "add" and value not in values:
                values.append(value)
            elif op == "delete" and value in values:
                values.remove(value)
            if not values:
                del target.records[(name, "TXT")]
        self._snapshot_all()

    # -- helpers ---------------------------------------------------------------------------
    def _snapshot_all(self) -> None:
        for fake in self.servers.values():
            fake.history.append((self.clock.monotonic(), _copy(fake.zones)))

    def _as_of(self, fake: FakeServer, holder: Zone) -> dict[tuple[str, str], list[str]]:
        if not fake.lag:
            return holder.records
        seen = self.clock.monotonic() - fake.lag
        past = [state for at, state in fake.history if at <= seen]  # else: as it was when first served
        return (past[-1] if past else fake.history[0][1])[holder.name]

    @staticmethod
    def _zone_for(fake: FakeServer, name: str) -> Zone | None:
        holders = [z for z in fake.zones if in_zone(name, z.name)]
        return max(holders, key=lambda z: len(z.name)) if holders else None


def _copy(zones: list[Zone]) -> dict[str, dict[tuple[str, str], list[str]]]:
    return {z.name: {k: list(v) for k, v in z.records.items()} for z in zones}


def _rrset(owner: str, rdtype: str, values: list[str]):
    return dns.rrset.from_text_list(dns.name.from_text(owner), 60, dns.rdataclass.IN, rdtype, values)
