"""One DNS exchange with one server, bounded by a deadline: queries (UDP, TCP when truncated) and
RFC 2136 updates (TCP, TSIG-signed). dnspython's failures become the engine's errors, with the
server's answer named as such (REFUSED, NOTAUTH, BADKEY, ...) and what usually causes it.
"""

from __future__ import annotations

from ..clock import Deadline
from ..dnsquery import Nameserver, dns
from ..errors import ChallengeError, DeadlineExceeded, NetworkError
from .tsig import TsigKey

EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no fragmented UDP answers


class DnsRefusedError(ChallengeError):
    """The server answered and will not do it (REFUSED, NOTAUTH, a TSIG error, ...): the key, the
    zone or the server's policy has to change first, so this is not retried hot."""

    retry_hot = False


# What a server's answer to an update means, and what usually causes it.
UPDATE_RCODES = {
    "REFUSED": "the server's policy does not let key %(key)s change %(names)s in that zone (BIND: "
               "update-policy or allow-update of the zone; Knot: an acl with action update for the key)",
    "NOTAUTH": "the server is not the primary of that zone, or does not accept key %(key)s for it",
    "NOTZONE": "%(names)s is not inside that zone",
    "NOTIMP": "the server does not take dynamic updates",
    "FORMERR": "the server could not read the update",
    "SERVFAIL": "the server could not apply it (see its log)",
    "YXDOMAIN": "a prerequisite failed",
    "YXRRSET": "a prerequisite failed",
    "NXRRSET": "a prerequisite failed",
}
# Answers worth trying again soon; every other refusal needs a change first.
TRANSIENT_RCODES = frozenset({"SERVFAIL"})

TSIG_ERRORS = {
    "PeerBadKey": ("BADKEY", "the server has no key %(key)s with algorithm %(algorithm)s, or does not let it "
                             "change that zone (Knot answers so when no acl with action update names the key)"),
    "PeerBadSignature": ("BADSIG", "the secret of key %(key)s differs from the server's"),
    "PeerBadTime": ("BADTIME", "this host's clock and the server's differ by more than 300 s"),
    "PeerBadTruncation": ("BADTRUNC", "the server refused a truncated signature"),
}


class DnsClient:
    """Exchanges with DNS servers; each one gets at most ``timeout`` seconds and never more than
    what is left of the caller's deadline."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def _budget(self, deadline: Deadline, server: Nameserver, what: str) -> float:
        budget = deadline.bounded(self.timeout)
        if budget <= 0:
            raise DeadlineExceeded("no time left to ask DNS server %s for %s" % (server, what))
        return budget

    def query(self, server: Nameserver, name: str, rdtype: str, deadline: Deadline, *, recursion: bool = False):
        """The server's answer (a dns.message.Message) for ``name``/``rdtype``; RD only when
        ``recursion`` (authoritative servers are asked without it)."""
        what = "%s %s" % (name, rdtype)
        flags = dns.flags.RD if recursion else 0
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD, flags=flags)
        try:
            answer = dns.query.udp(query, server.address, timeout=self._budget(deadline, server, what),
                                   port=server.port, ignore_unexpected=True)
            if answer.flags & dns.flags.TC:
                answer = dns.query.tcp(query, server.address, timeout=self._budget(deadline, server, what),
                                       port=server.port)
        except dns.exception.Timeout:
            raise NetworkError("DNS server %s did not answer the query for %s within %.0f s"
                               % (server, what, self.timeout)) from None
        except OSError as exc:
            raise NetworkError("cannot reach DNS server %s (query for %s): %s"
                               % (server, what, exc.strerror or exc)) from None
        except dns.exception.DNSException as exc:
            raise NetworkError("DNS server %s sent an unreadable answer for %s: %s" % (server, what, exc)) from None
        return answer

    def update(self, server: Nameserver, zone: str, message, key: TsigKey, names: list[str],
               deadline: Deadline) -> None:
        """Send one UPDATE for ``zone`` signed with ``key`` over TCP; raises unless NOERROR."""
        what = "the update of zone %s" % zone
        facts = {"key": key.name, "algorithm": key.algorithm, "names": ", ".join(names) or zone}
        message.use_tsig(dns.tsig.Key(key.name, key.secret, key.algorithm))
        try:
            answer = dns.query.tcp(message, server.address, timeout=self._budget(deadline, server, what),
                                   port=server.port)
        except dns.exception.Timeout:
            raise NetworkError("DNS server %s did not answer %s within %.0f s" % (server, what, self.timeout)) from None
        except OSError as exc:
            raise NetworkError("cannot reach DNS server %s for %s: %s" % (server, what, exc.strerror or exc)) from None
        except dns.tsig.PeerError as exc:
            code, hint = TSIG_ERRORS.get(type(exc).__name__, ("TSIG error", "%s" % exc))
            raise DnsRefusedError("DNS server %s rejected TSIG key %s for %s (NOTAUTH, %s): %s"
                                  % (server, key.name, what, code, hint % facts)) from None
        except (dns.message.UnknownTSIGKey, dns.tsig.BadSignature, dns.tsig.BadAlgorithm, dns.tsig.BadKey):
            raise DnsRefusedError("DNS server %s signed its answer to %s with another key or a bad signature: "
                                  "check key %s (%s)" % (server, what, key.name, key.algorithm)) from None
        except dns.exception.DNSException as exc:
            # e.g. "response requires a TSIG but does not have one": a server that knows no TSIG
            raise DnsRefusedError("DNS server %s sent an unusable answer to %s (signed with key %s): %s"
                                  % (server, what, key.name, exc)) from None
        rcode = dns.rcode.to_text(answer.rcode())
        if rcode == "NOERROR":
            return
        hint = UPDATE_RCODES.get(rcode, "the server refused it") % facts
        error = ChallengeError if rcode in TRANSIENT_RCODES else DnsRefusedError
        raise error("DNS server %s answered %s with %s: %s" % (server, what, rcode, hint))
