"""DnsClient: server addresses, deadlines, signed updates, and every failure mapped to a clear
error naming the server's answer (dnspython's transport replaced: nothing goes on the network)."""

from __future__ import annotations

import base64

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import pytest

from mdcore.challenges.rfc2136 import build_update
from mdcore.clock import Deadline, FakeClock
from mdcore.dnsclient.exchange import DnsClient, DnsRefusedError
from mdcore.dnsclient.settings import parse_server
from mdcore.dnsclient.tsig import TsigKey
from mdcore.dnsquery import Nameserver
from mdcore.errors import ChallengeError, ConfigError, DeadlineExceeded, NetworkError

KEY = TsigKey("acme-update", "hmac-sha512", bytes(range(64)))
PRIMARY = Nameserver("127.0.0.1", 5353)


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("192.0.2.53", Nameserver("192.0.2.53", 53)),
        (" 192.0.2.53:5353 ", Nameserver("192.0.2.53", 5353)),
        ("2001:db8::53", Nameserver("2001:db8::53", 53)),
        ("[2001:DB8::53]:5353", Nameserver("2001:db8::53", 5353)),
        ("[2001:db8::53]", Nameserver("2001:db8::53", 53)),
    ],
)
def test_parse_server(text: str, server: Nameserver) -> None:
    assert parse_server(text, "rfc2136.server") == server


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ns1.example.org", "invalid DNS server 'ns1.example.org': an IP address with an optional :port"),
        ("192.0.2.300", "invalid DNS server '192.0.2.300': an IP address"),
        ("192.0.2.53:0", "port out of range"),
        ("192.0.2.53:99999", "port out of range"),
        ("[2001:db8::1]x", r"use \[address\]:port for IPv6"),
        ("", "a DNS server must be an IP address"),
        (None, "a DNS server must be an IP address"),
    ],
)
def test_bad_server(text: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^rfc2136.server: .*" + message):
        parse_server(text, "rfc2136.server")


def test_server_text() -> None:
    assert str(Nameserver("2001:db8::1", 5353)) == "[2001:db8::1]:5353" and str(PRIMARY) == "127.0.0.1:5353"
    assert str(Nameserver("192.0.2.53", 53)) == "192.0.2.53"


class Sent(list):
    """What went to dnspython's transport; ``reply(kind, message)`` gives each answer (or raises)."""

    def __init__(self) -> None:
        super().__init__()
        self.reply = lambda _kind, message: dns.message.make_response(message)

    def transport(self, kind: str):
        def send(message, where, timeout=None, port=53, **_kw):
            self.append((kind, message, where, port, timeout))
            result = self.reply(kind, message)
            if isinstance(result, BaseException):
                raise result
            return result

        return send


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    calls = Sent()
    monkeypatch.setattr(dns.query, "tcp", calls.transport("tcp"))
    monkeypatch.setattr(dns.query, "udp", calls.transport("udp"))
    return calls


def _reply(sent: Sent, fn) -> None:
    sent.reply = fn


def _rcode(rcode: int):
    def answer(_kind, message):
        response = dns.message.make_response(message)
        response.set_rcode(rcode)
        return response

    return answer


def _update(client: DnsClient, clock: FakeClock, zone: str = "example.org") -> None:
    message = build_update(zone, 60, add=[("_acme-challenge.www.example.org", "abc_-1")])
    client.update(PRIMARY, zone, message, KEY, ["_acme-challenge.www.example.org."], Deadline(clock, 30))


def test_update_goes_signed_over_tcp(sent: Sent, clock: FakeClock) -> None:
    _update(DnsClient(timeout=7), clock)
    kind, message, where, port, timeout = sent[0]
    assert (kind, where, port, timeout) == ("tcp", "127.0.0.1", 5353, 7)
    wire = message.to_wire()
    parsed = dns.message.from_wire(wire, keyring={dns.name.from_text("acme-update"): KEY.secret})
    assert parsed.had_tsig and parsed.tsig[0].algorithm == dns.name.from_text("hmac-sha512")
    assert [(r.name.to_text(), r.to_text()) for r in parsed.update] == [
        ("_acme-challenge.www.example.org.", '_acme-challenge.www.example.org. 60 IN TXT "abc_-1"')]
    with pytest.raises(dns.tsig.BadSignature):  # signed with that secret and no other
        dns.message.from_wire(wire, keyring={dns.name.from_text("acme-update"): bytes(64)})


def test_delete_removes_one_value_only() -> None:
    message = build_update("example.org", 60, delete=[("_acme-challenge.example.org", "v1")])
    (rrset,) = message.update
    assert rrset.deleting == dns.rdataclass.NONE and [rd.to_text() for rd in rrset] == ['"v1"']
    assert message.zone[0].name.to_text() == "example.org."


@pytest.mark.parametrize("value", ['a" "b', "x;y", "", "a b", "a\\b", "v" * 256])
def test_only_digests_go_into_records(value: str) -> None:
    with pytest.raises(ChallengeError, match="not a dns-01 digest"):
        build_update("example.org", 60, add=[("_acme-challenge.example.org", value)])


@pytest.mark.parametrize(
    ("rcode", "message", "cls"),
    [
        (dns.rcode.REFUSED, "answered the update of zone example.org with REFUSED: the server's policy does "
                            "not let key acme-update change _acme-challenge.www.example.org. in that zone",
         DnsRefusedError),
        (dns.rcode.NOTAUTH, "with NOTAUTH: the server is not the primary of that zone", DnsRefusedError),
        (dns.rcode.NOTZONE, "with NOTZONE: _acme-challenge.www.example.org. is not inside that zone", DnsRefusedError),
        (dns.rcode.NOTIMP, "with NOTIMP: the server does not take dynamic updates", DnsRefusedError),
        (dns.rcode.SERVFAIL, "with SERVFAIL: the server could not apply it", ChallengeError),
    ],
)
def test_update_rcodes(sent: Sent, clock: FakeClock, rcode: int, message: str, cls: type) -> None:
    _reply(sent, _rcode(rcode))
    with pytest.raises(cls, match=message) as info:
        _update(DnsClient(), clock)
    assert info.value.retry_hot == (rcode == dns.rcode.SERVFAIL)
    assert "127.0.0.1:5353" in str(info.value)


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (dns.tsig.PeerBadKey(), r"rejected TSIG key acme-update for the update of zone example.org "
                                r"\(NOTAUTH, BADKEY\): the server has no key acme-update with algorithm hmac-sha512"),
        (dns.tsig.PeerBadSignature(), r"\(NOTAUTH, BADSIG\): the secret of key acme-update differs from the server's"),
        (dns.tsig.PeerBadTime(), r"\(NOTAUTH, BADTIME\): this host's clock and the server's differ"),
        (dns.tsig.BadSignature(), "signed its answer .* with another key or a bad signature"),
        (dns.exception.FormError("response requires a TSIG but does not have one"),
         "unusable answer .*response requires a TSIG"),
    ],
)
def test_tsig_failures(sent: Sent, clock: FakeClock, exc: Exception, message: str) -> None:
    _reply(sent, lambda _k, _m: exc)
    with pytest.raises(DnsRefusedError, match=message) as info:
        _update(DnsClient(), clock)
    assert not info.value.retry_hot
    assert base64.b64encode(KEY.secret).decode() not in str(info.value)


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (dns.exception.Timeout(),
         "DNS server 127.0.0.1:5353 did not answer the update of zone example.org within 10 s"),
        (ConnectionRefusedError(111, "Connection refused"),
         "cannot reach DNS server 127.0.0.1:5353 for the update of zone example.org: Connection refused"),
    ],
)
def test_unreachable_server(sent: Sent, clock: FakeClock, exc: Exception, message: str) -> None:
    _reply(sent, lambda _k, _m: exc)
    with pytest.raises(NetworkError, match=message) as info:
        _update(DnsClient(), clock)
    assert info.value.retry_hot


def test_each_exchange_is_bounded_by_the_deadline(sent: Sent, clock: FakeClock) -> None:
    deadline = Deadline(clock, 3)
    DnsClient(timeout=10).query(PRIMARY, "example.org", "SOA", deadline)
    assert sent[-1][4] == 3
    clock.advance(3)
    with pytest.raises(DeadlineExceeded, match="no time left to ask DNS server 127.0.0.1:5353 for example.org SOA"):
        DnsClient(timeout=10).query(PRIMARY, "example.org", "SOA", deadline)


def test_query_without_recursion_and_tcp_after_truncation(sent: Sent, clock: FakeClock) -> None:
    def truncated_over_udp(kind, message):
        response = dns.message.make_response(message)
        if kind == "udp":
            response.flags |= dns.flags.TC
        return response

    _reply(sent, truncated_over_udp)
    client = DnsClient()
    client.query(PRIMARY, "example.org", "TXT", Deadline(clock, 30))
    assert [c[0] for c in sent] == ["udp", "tcp"]
    assert not sent[0][1].flags & dns.flags.RD
    client.query(PRIMARY, "example.org", "TXT", Deadline(clock, 30), recursion=True)
    assert sent[-1][1].flags & dns.flags.RD


def test_query_failures(sent: Sent, clock: FakeClock) -> None:
    for exc, message in ((dns.exception.Timeout(), "did not answer the query for example.org TXT within 10 s"),
                         (OSError(101, "Network is unreachable"), "cannot reach .*: Network is unreachable"),
                         (dns.message.ShortHeader(), "sent an unreadable answer for example.org TXT")):
        _reply(sent, lambda _k, _m, exc=exc: exc)
        with pytest.raises(NetworkError, match=message):
            DnsClient().query(PRIMARY, "example.org", "TXT", Deadline(clock, 30))
