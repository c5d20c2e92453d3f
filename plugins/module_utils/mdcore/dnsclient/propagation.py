"""The propagation check: before the CA is told to validate, every authoritative name server of
the zone is asked directly (no cache in between) until all of them serve every TXT value.

A name server counts as ready when at least one of its addresses serves all values and none of
the addresses that answered lacks one (an address this host cannot reach, e.g. IPv6 without a
route, does not block the others). Bounded by the caller's deadline; sleeps come from the Clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..clock import Clock, Deadline
from ..dnsquery import Nameserver, dns
from ..errors import ChallengeError, MdError
from .exchange import DnsClient
from .lookup import fqdn

POLL_FIRST = 0.5
POLL_FACTOR = 2.0
POLL_MAX = 5.0


def served_txt(answer, name: str) -> set[str]:
    """The TXT strings an answer holds for ``name`` (each record's strings joined, RFC 7208 style)."""
    wanted = dns.rdatatype.TXT
    out = set()
    for rrset in answer.answer:
        if rrset.rdtype == wanted and fqdn(rrset.name.to_text()) == fqdn(name):
            out.update(b"".join(rd.strings).decode("ascii", "replace") for rd in rrset)
    return out


def _check_server(client: DnsClient, ns: str, addresses: list[Nameserver], records: Mapping[str, set[str]],
                  deadline: Deadline) -> str | None:
    """None when ``ns`` is ready, else what is still missing there."""
    lacking, failed, complete = [], [], False
    for server in addresses:
        missing_here = 0
        try:
            for name, values in records.items():
                answer = client.query(server, name, "TXT", deadline)
                missing_here += len(values - served_txt(answer, name))
        except MdError as exc:
            failed.append("%s: %s" % (ns, exc))
            continue
        if missing_here:
            wanted = sum(len(v) for v in records.values())
            lacking.append("%s (%s) lacks %d of %d values" % (ns, server, missing_here, wanted))
        else:
            complete = True
    if complete and not lacking:
        return None
    return "; ".join(lacking + failed) or "%s: no address answered" % ns


def wait_until_served(client: DnsClient, clock: Clock, zone: str, nameservers: Mapping[str, list[Nameserver]],
                      records: Mapping[str, set[str]], deadline: Deadline) -> float:
    """Poll until every name server of ``zone`` serves ``records`` ({name: TXT values}); returns
    the seconds it took. Raises ChallengeError naming the servers that lag when time runs out."""
    started = clock.monotonic()
    interval = POLL_FIRST
    while True:
        pending = [problem for problem in (_check_server(client, ns, addrs, records, deadline)
                                           for ns, addrs in sorted(nameservers.items())) if problem]
        if not pending:
            return clock.monotonic() - started
        if deadline.remaining() < interval:
            raise ChallengeError("after %.0f s, not every name server of zone %s serves the dns-01 record%s "
                                 "%s: %s" % (clock.monotonic() - started, fqdn(zone), "s" if len(records) > 1 else "",
                                             ", ".join(sorted(records)), "; ".join(pending)))
        clock.sleep(interval)
        interval = min(POLL_MAX, interval * POLL_FACTOR)
