"""Where a dns-01 record goes: CNAMEs followed (acme-dns style delegation into a validation zone),
the zone found by an SOA query to the primary, the zone's name servers and their addresses.

The primary is asked first, without recursion: it holds the zone, and usually the names around
it. Only what it is not authoritative for is asked of the recursive resolvers (the configured
ones, else those of /etc/resolv.conf).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..clock import Deadline
from ..dnsquery import DEFAULT_PORT, Nameserver, dns, parse_nameserver
from ..errors import ChallengeError, ConfigError, NetworkError
from .exchange import DnsClient, DnsRefusedError

MAX_CNAMES = 8  # more hops than any sane delegation needs; also stops CNAME loops
RESOLV_CONF = "/etc/resolv.conf"  # named in messages; dnspython reads it


def fqdn(name: str) -> str:
    """Lower case, absolute (trailing dot): the form every name is compared in here."""
    return name.strip().lower().rstrip(".") + "."


def in_zone(name: str, zone: str) -> bool:
    name, zone = fqdn(name), fqdn(zone)
    return name == zone or name.endswith("." + zone) or zone == "."


def _rcode(answer) -> str:
    return dns.rcode.to_text(answer.rcode())


def _authoritative(answer) -> bool:
    return bool(answer.flags & dns.flags.AA) and _rcode(answer) in ("NOERROR", "NXDOMAIN")


def _records(section, name: str | None, rdtype: str) -> list:
    wanted = dns.rdatatype.from_text(rdtype)
    return [rd for rrset in section if rrset.rdtype == wanted and (name is None or fqdn(rrset.name.to_text()) == name)
            for rd in rrset]


def _owners(section, rdtype: str) -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return [fqdn(rrset.name.to_text()) for rrset in section if rrset.rdtype == wanted]


def system_resolvers() -> list[Nameserver]:
    """The nameservers of /etc/resolv.conf (as dnspython reads it); [] when there are none."""
    try:
        addresses = dns.resolver.Resolver(configure=True).nameservers
    except (dns.exception.DNSException, OSError):
        return []
    servers = []
    for address in addresses:
        try:
            servers.append(parse_nameserver(str(address).split("%", maxsplit=1)[0]))
        except ConfigError:  # e.g. a link-local address with a zone: skipped
            continue
    return servers


class Locator:
    """Answers about names for one primary; ``resolvers`` (None: /etc/resolv.conf, read when
    first needed) for names outside the primary's zones."""

    def __init__(self, client: DnsClient, primary: Nameserver, resolvers: Sequence[Nameserver] | None = None,
                 nameserver_port: int = DEFAULT_PORT) -> None:
        self.client = client
        self.primary = primary
        self._resolvers = list(resolvers) if resolvers else None
        self.nameserver_port = nameserver_port

    @property
    def resolvers(self) -> list[Nameserver]:
        if self._resolvers is None:
            self._resolvers = system_resolvers()
        return self._resolvers

    def ask(self, name: str, rdtype: str, deadline: Deadline):
        """An authoritative answer from the primary, else a resolver's answer."""
        answer = self.client.query(self.primary, name, rdtype, deadline)
        if _authoritative(answer):
            return answer
        problems = ["%s answered %s%s" % (self.primary, _rcode(answer),
                                          "" if answer.flags & dns.flags.AA else " (not authoritative)")]
        for resolver in self.resolvers:
            try:
                answer = self.client.query(resolver, name, rdtype, deadline, recursion=True)
            except NetworkError as exc:
                problems.append(str(exc))
                continue
            if _rcode(answer) in ("NOERROR", "NXDOMAIN"):
                return answer
            problems.append("resolver %s answered %s" % (resolver, _rcode(answer)))
        if not self.resolvers:
            problems.append("no resolver configured (rfc2136.resolvers) or in %s" % RESOLV_CONF)
        raise ChallengeError("cannot look up %s %s: %s" % (name, rdtype, "; ".join(problems)))

    def follow_cnames(self, name: str, deadline: Deadline) -> str:
        """The name a dns-01 record for ``name`` really lives at: the end of its CNAME chain."""
        current, seen = fqdn(name), [fqdn(name)]
        for _hop in range(MAX_CNAMES):
            targets = _records(self.ask(current, "CNAME", deadline).answer, current, "CNAME")
            if not targets:
                return current
            current = fqdn(targets[0].target.to_text())
            if current in seen:
                raise ChallengeError("CNAME loop: %s" % " -> ".join(seen + [current]))
            seen.append(current)
        raise ChallengeError("more than %d CNAMEs from %s: %s" % (MAX_CNAMES, seen[0], " -> ".join(seen)))

    def zone_of(self, name: str, deadline: Deadline) -> str:
        """The zone holding ``name`` on the primary, from the SOA it answers with."""
        name = fqdn(name)
        answer = self.client.query(self.primary, name, "SOA", deadline)
        rcode = _rcode(answer)
        if rcode in ("REFUSED", "NOTAUTH"):
            raise DnsRefusedError("DNS server %s holds no zone for %s (it answered the SOA query with %s): "
                                  "point rfc2136.server at the primary of that zone" % (self.primary, name, rcode))
        if rcode not in ("NOERROR", "NXDOMAIN"):
            raise ChallengeError("DNS server %s answered the SOA query for %s with %s" % (self.primary, name, rcode))
        if answer.flags & dns.flags.AA:
            if _records(answer.answer, name, "SOA"):
                return name
            owners = _owners(answer.authority, "SOA")
            if owners:
                return owners[0]
        delegated = _owners(answer.authority, "NS")
        if delegated:
            raise DnsRefusedError("%s is in zone %s, which DNS server %s delegates to other name servers: point "
                                  "rfc2136.server at that zone's primary" % (name, delegated[0], self.primary))
        raise DnsRefusedError("DNS server %s is not authoritative for %s (no SOA in its answer): point "
                              "rfc2136.server at the zone's primary" % (self.primary, name))

    def nameservers(self, zone: str, deadline: Deadline) -> dict[str, list[Nameserver]]:
        """{name server: its addresses} of ``zone`` as the primary lists them (NS records), the
        addresses from glue, the primary or a resolver; queried on ``nameserver_port``."""
        zone = fqdn(zone)
        answer = self.client.query(self.primary, zone, "NS", deadline)
        names = sorted({fqdn(rd.target.to_text()) for rd in _records(answer.answer, zone, "NS")})
        if not names:
            raise ChallengeError("DNS server %s lists no NS records for zone %s (answer: %s)"
                                 % (self.primary, zone, _rcode(answer)))
        out: dict[str, list[Nameserver]] = {}
        for ns in names:
            addresses = [rd.address for rdtype in ("A", "AAAA") for rd in _records(answer.additional, ns, rdtype)]
            if not addresses:
                for rdtype in ("A", "AAAA"):
                    addresses += [rd.address for rd in _records(self.ask(ns, rdtype, deadline).answer, ns, rdtype)]
            if not addresses:
                raise ChallengeError("name server %s of zone %s has no address (A or AAAA)" % (ns, zone))
            out[ns] = [Nameserver(addr, self.nameserver_port) for addr in sorted(set(addresses))]
        return out
