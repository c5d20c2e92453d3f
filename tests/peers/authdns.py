"""What the authoritative DNS peers (BIND's named, Knot's knotd) share: TSIG keys, zones written
by the tests, readiness by SOA query, and the zone read back with dig/kdig (AXFR) at the end.

Each server listens on one loopback address and a free port; the zones' NS records point at
loopback addresses, so the engine's propagation check (rfc2136.nameserver_port = the port) asks
the servers the tests started and nothing else.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

from .ports import free_port
from .process import Peer


@dataclass(frozen=True)
class DnsKey:
    name: str
    algorithm: str = "hmac-sha256"
    secret: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode(), repr=False)

    def wrong_secret(self) -> DnsKey:
        """The same name and algorithm with another secret (the server answers BADSIG)."""
        return DnsKey(self.name, self.algorithm)

    def bind_file(self) -> str:
        """As BIND's tsig-keygen prints it (what rfc2136.key_file reads)."""
        return 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' % (self.name, self.algorithm, self.secret)

    def knot_file(self) -> str:
        """As Knot's keymgr -t prints it (Knot includes it; rfc2136.key_file reads it too)."""
        return "# %s:%s:%s\nkey:\n  - id: %s\n    algorithm: %s\n    secret: %s\n" % (
            self.algorithm, self.name, self.secret, self.name, self.algorithm, self.secret)

    def settings(self) -> dict:
        return {"key_name": self.name, "key_algorithm": self.algorithm, "key_secret": self.secret}


@dataclass
class DnsZone:
    name: str  # without the final dot
    nameservers: dict[str, str]  # NS name -> IPv4 (in-zone names get an A record)
    records: list[str] = field(default_factory=list)  # more zone file lines, e.g. "www 60 IN A 127.0.0.1"
    update_keys: list[str] = field(default_factory=list)  # key names that may change TXT records
    primary: tuple[str, int] | None = None  # a secondary of this primary (no NOTIFY: it polls)
    refresh: int = 60  # SOA refresh: how often a secondary asks for changes

    def zone_file(self, serial: int = 1) -> str:
        first = next(iter(self.nameservers))
        lines = ["$TTL 60", "$ORIGIN %s." % self.name,
                 "@ IN SOA %s. hostmaster.%s. %d %d 2 600 1" % (first, self.name, serial, self.refresh)]
        lines += ["@ IN NS %s." % ns for ns in self.nameservers]
        lines += ["%s. IN A %s" % (ns, ip) for ns, ip in self.nameservers.items()
                  if ns == self.name or ns.endswith("." + self.name)]
        return "\n".join(lines + self.records) + "\n"


class AuthDns(Peer):
    """A named or knotd serving ``zones`` on address:port (a free port unless given), knowing
    ``keys``; subclasses write the config and start it."""

    client = "dig"

    def __init__(self, workdir: Path, keys: list[DnsKey], zones: list[DnsZone], binary: str | None = None,
                 address: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(workdir)
        self.binary = binary or self.name  # named, knotd
        self.keys = keys
        self.zones = zones
        self.address = address
        self.port = port or free_port(address, udp_too=True)

    @property
    def server(self) -> str:
        return "%s:%d" % (self.address, self.port)

    def answers_soa(self, zone: str, recursion: bool = False) -> bool:
        """Whether the server answers the zone's SOA (authoritatively, unless ``recursion``)."""
        query = dns.message.make_query(zone + ".", "SOA", flags=dns.flags.RD if recursion else 0)
        try:
            answer = dns.query.udp(query, self.address, timeout=0.3, port=self.port)
        except dns.exception.DNSException:  # not listening yet
            return False
        authoritative = recursion or bool(answer.flags & dns.flags.AA)
        return answer.rcode() == dns.rcode.NOERROR and authoritative and bool(answer.answer)

    def _serves_all(self) -> bool:
        return all(self.answers_soa(zone.name) for zone in self.zones)

    def _dig(self, *args: str) -> list[str]:
        proc = subprocess.run([self.client, "-p", str(self.port), "@" + self.address, *args],
                              capture_output=True, text=True, timeout=20, check=False)
        assert proc.returncode == 0, "%s %s: %s%s" % (self.client, " ".join(args), proc.stdout, proc.stderr)
        return [line for line in proc.stdout.splitlines() if line.strip() and not line.startswith(";")]

    def txt(self, name: str) -> list[str]:
        """TXT values of ``name`` as dig/kdig prints them (+short), quotes removed."""
        return sorted(line.strip('"') for line in self._dig("+short", "TXT", name))

    def zone_records(self, zone: str) -> list[str]:
        """The whole zone by AXFR (dig/kdig), one record per line."""
        return self._dig("+noall", "+answer", "AXFR", zone)

    def acme_txt_records(self, zone: str) -> list[str]:
        """Every TXT record of the zone: after a run there must be none of ours left."""
        return [line for line in self.zone_records(zone) if "\tTXT\t" in line or " TXT " in line]
