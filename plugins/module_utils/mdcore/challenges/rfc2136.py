"""dns-01 by RFC 2136 dynamic update, signed with TSIG: what BIND, Knot, PowerDNS and most DNS
appliances accept.

setup() only collects the challenges of an order; ready() places them all (one UPDATE per zone,
so a wildcard and its apex put two values on one name at once), then waits until every
authoritative name server of each zone serves them (the propagation check) and, if configured,
a fixed time more. teardown() deletes exactly the value it placed, never the whole RRset: other
orders (another managed domain with the same name) may have values there at the same time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..acme.resources import ChallengeType
from ..clock import Clock, Deadline
from ..dnsclient.exchange import DnsClient
from ..dnsclient.lookup import Locator, fqdn, in_zone
from ..dnsclient.propagation import wait_until_served
from ..dnsclient.settings import Rfc2136Settings
from ..dnsquery import dns, require_dnspython
from ..errors import ChallengeError
from .base import ChallengeTask, Solver

RECORD_PREFIX = "_acme-challenge."
TXT_VALUE_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # base64url digests (RFC 8555 8.4)


def record_name(domain: str) -> str:
    return fqdn(RECORD_PREFIX + domain)


def build_update(zone: str, ttl: int, add: Iterable[tuple[str, str]] = (), delete: Iterable[tuple[str, str]] = ()):
    """An UPDATE message for ``zone`` adding and deleting single TXT values ((name, value) pairs);
    unsigned (DnsClient.update signs it)."""
    message = dns.update.UpdateMessage(fqdn(zone))
    for name, value in add:
        message.add(fqdn(name), ttl, _txt(value))
    for name, value in delete:
        message.delete(fqdn(name), _txt(value))
    return message


def _txt(value: str):
    if not TXT_VALUE_RE.match(value):  # never more than the digest: nothing to quote or escape
        raise ChallengeError("refusing to put %r into a TXT record (not a dns-01 digest)" % value[:80])
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, '"%s"' % value)


class Rfc2136Solver(Solver):
    challenge_type = ChallengeType.DNS01

    def __init__(self, settings: Rfc2136Settings, clock: Clock, propagation_seconds: float = 0.0,
                 client: DnsClient | None = None) -> None:
        require_dnspython("the rfc2136 DNS provider")
        self.settings = settings
        self.clock = clock
        self.propagation_seconds = propagation_seconds
        self.client = client or DnsClient(settings.timeout)
        self.locator = Locator(self.client, settings.server, settings.resolvers, settings.nameserver_port)
        self._key = settings.tsig_key()  # a bad key file fails here, before any order is placed
        self._pending: list[ChallengeTask] = []
        self._placed: dict[ChallengeTask, tuple[str, str]] = {}  # task -> (zone, record name)
        self._targets: dict[str, tuple[str, str]] = {}  # _acme-challenge name -> (zone, record name)
        self.last_propagation: float | None = None  # seconds the last check took (bench, logs)

    def _target(self, domain: str, deadline: Deadline) -> tuple[str, str]:
        """(zone, name) where the record for ``domain`` goes: CNAMEs followed, zone configured
        (when the name is inside it) or found by SOA query."""
        name = record_name(domain)
        if name not in self._targets:
            target = self.locator.follow_cnames(name, deadline)
            zone = self.settings.zone
            if not zone or not in_zone(target, zone):
                zone = self.locator.zone_of(target, deadline)
            self._targets[name] = (fqdn(zone), target)
        return self._targets[name]

    def setup(self, task: ChallengeTask) -> None:
        _txt(task.txt_value)
        self._pending.append(task)

    def ready(self, deadline: Deadline | None = None) -> None:
        tasks, self._pending = self._pending, []
        if not tasks:
            return
        deadline = deadline or Deadline(self.clock, self.settings.propagation_timeout + 4 * self.settings.timeout)
        by_zone: dict[str, list[tuple[ChallengeTask, str]]] = {}
        for task in tasks:
            zone, name = self._target(task.domain, deadline)
            by_zone.setdefault(zone, []).append((task, name))
        for zone, entries in by_zone.items():
            message = build_update(zone, self.settings.ttl, add=[(name, t.txt_value) for t, name in entries])
            self.client.update(self.settings.server, zone, message, self._key,
                               sorted({name for _t, name in entries}), deadline)
            self._placed.update({task: (zone, name) for task, name in entries})
        if self.settings.propagation_check:
            check = Deadline(self.clock, deadline.bounded(self.settings.propagation_timeout))
            started = self.clock.monotonic()
            for zone, entries in by_zone.items():
                records: dict[str, set[str]] = {}
                for task, name in entries:
                    records.setdefault(name, set()).add(task.txt_value)
                wait_until_served(self.client, self.clock, zone, self.locator.nameservers(zone, check), records, check)
            self.last_propagation = self.clock.monotonic() - started
        if self.propagation_seconds > 0:
            self.clock.sleep(deadline.bounded(self.propagation_seconds))

    def teardown(self, task: ChallengeTask) -> None:
        if task in self._pending:  # never placed (an earlier setup or the CA failed first)
            self._pending.remove(task)
            return
        placed = self._placed.pop(task, None)
        if placed is None:
            return
        zone, name = placed
        # A fresh deadline: cleaning up matters most after the order's own deadline ran out.
        message = build_update(zone, self.settings.ttl, delete=[(name, task.txt_value)])
        self.client.update(self.settings.server, zone, message, self._key, [name],
                           Deadline(self.clock, 2 * self.settings.timeout))
