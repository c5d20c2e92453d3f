"""The rfc2136 solver against in-memory DNS servers (tests/unit/fakedns.py): one UPDATE per zone
with every value, zone by SOA or configured, CNAME delegation, exact teardown, and the
propagation loop on the FakeClock (a lagging secondary, a server that never gets the record)."""

from __future__ import annotations

import pytest

from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.rfc2136 import Rfc2136Solver
from mdcore.clock import Deadline, FakeClock
from mdcore.dnsclient.exchange import DnsRefusedError
from mdcore.dnsclient.settings import rfc2136_from_dict
from mdcore.dnsclient.tsig import make_key
from mdcore.dnsquery import Nameserver
from mdcore.errors import ChallengeError

from .fakedns import FakeDnsClient, Zone, zone

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
PRIMARY = Nameserver("127.0.0.1", 53)
SECONDARY = Nameserver("127.0.0.2", 53)
WILD = ChallengeTask("example.org", "t1", "t1.k", "wildcardValue_1")
APEX = ChallengeTask("example.org", "t2", "t2.k", "apexValue-2")
WWW = ChallengeTask("www.example.org", "t3", "t3.k", "wwwValue3")


@pytest.fixture
def dns_world(clock: FakeClock) -> tuple[FakeDnsClient, Zone]:
    client = FakeDnsClient(clock)
    client.keys["acme"] = make_key("acme", "hmac-sha256", SECRET, "test")
    example = zone("example.org", {"ns1.example.org": "127.0.0.1"})
    client.serve(PRIMARY, example)
    return client, example


def _solver(client: FakeDnsClient, clock: FakeClock, propagation_seconds: float = 0.0, **settings) -> Rfc2136Solver:
    doc = {"server": "127.0.0.1", "key_name": "acme", "key_secret": SECRET, **settings}
    return Rfc2136Solver(rfc2136_from_dict(doc), clock, propagation_seconds, client=client)


def test_wildcard_and_apex_in_one_update(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    solver = _solver(client, clock)
    for task in (WILD, APEX, WWW):
        solver.setup(task)
    assert client.updates == []  # nothing placed before ready()
    solver.ready(Deadline(clock, 300))
    assert client.updates == [(PRIMARY, "example.org.", [
        ("add", "_acme-challenge.example.org.", '"wildcardValue_1"'),
        ("add", "_acme-challenge.example.org.", '"apexValue-2"'),
        ("add", "_acme-challenge.www.example.org.", '"wwwValue3"')])]
    assert sorted(example.txt("_acme-challenge.example.org")) == ["apexValue-2", "wildcardValue_1"]
    assert clock.slept == []  # the only name server had them at once
    solver.teardown(WILD)
    assert example.txt("_acme-challenge.example.org") == ["apexValue-2"]  # only its own value goes
    solver.teardown(APEX)
    solver.teardown(WWW)
    assert not any(t == "TXT" for _n, t in example.records)


def test_zone_found_by_soa_below_a_parent_zone(dns_world, clock: FakeClock) -> None:
    client, _example = dns_world
    sub = zone("shop.example.org", {"ns1.example.org": "127.0.0.1"})
    client.servers[PRIMARY].zones.append(sub)
    solver = _solver(client, clock)
    solver.setup(ChallengeTask("a.shop.example.org", "t", "k", "v1"))
    solver.ready(Deadline(clock, 300))
    assert client.updates[0][1] == "shop.example.org."
    assert (PRIMARY, "_acme-challenge.a.shop.example.org.", "SOA", False) in client.queries
    assert sub.txt("_acme-challenge.a.shop.example.org") == ["v1"]


def test_configured_zone_needs_no_soa_query(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    solver = _solver(client, clock, zone="example.org.", propagation_check=False)
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert not any(q[2] == "SOA" for q in client.queries)
    assert example.txt("_acme-challenge.www.example.org") == ["wwwValue3"]


def test_cname_delegation_updates_the_validation_zone(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("_acme-challenge.www.example.org", "CNAME", "www.acme.example.net.")
    validation = zone("acme.example.net", {"ns1.example.org": "127.0.0.1"})
    client.servers[PRIMARY].zones.append(validation)
    # the configured zone is the one the key may change; the CNAME leads into it
    solver = _solver(client, clock, zone="acme.example.net")
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert client.updates[0][1:] == ("acme.example.net.", [("add", "www.acme.example.net.", '"wwwValue3"')])
    assert validation.txt("www.acme.example.net") == ["wwwValue3"]
    assert example.txt("_acme-challenge.www.example.org") == []
    solver.teardown(WWW)
    assert validation.txt("www.acme.example.net") == []


def test_cname_outside_the_primary_is_asked_of_the_resolver(clock: FakeClock) -> None:
    client = FakeDnsClient(clock)
    client.keys["acme"] = make_key("acme", "hmac-sha256", SECRET, "test")
    resolver = Nameserver("127.0.0.53", 53)
    main = zone("example.org", {"ns.provider.test": "127.0.0.9"}).add(
        "_acme-challenge.www.example.org", "CNAME", "www.acme.example.net.")
    client.serve(resolver, main)  # stands in for a recursive resolver that knows example.org
    client.serve(PRIMARY, zone("acme.example.net", {"ns1.acme.example.net": "127.0.0.1"}))
    solver = _solver(client, clock, resolvers=["127.0.0.53"])
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert (resolver, "_acme-challenge.www.example.org.", "CNAME", True) in client.queries
    assert client.updates[0][1] == "acme.example.net."


def test_cname_loop_is_refused(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("_acme-challenge.www.example.org", "CNAME", "a.example.org.")
    example.add("a.example.org", "CNAME", "_acme-challenge.www.example.org.")
    solver = _solver(client, clock)
    solver.setup(WWW)
    with pytest.raises(ChallengeError, match=r"CNAME loop: _acme-challenge.www.example.org. -> a.example.org. -> "):
        solver.ready(Deadline(clock, 300))


def test_primary_without_the_zone(clock: FakeClock) -> None:
    client = FakeDnsClient(clock)
    client.keys["acme"] = make_key("acme", "hmac-sha256", SECRET, "test")
    client.serve(PRIMARY, zone("other.test", {"ns1.other.test": "127.0.0.1"}))
    client.serve(Nameserver("127.0.0.53", 53), zone("example.org", {"ns.provider.test": "127.0.0.9"}))
    solver = _solver(client, clock, resolvers=["127.0.0.53"])
    solver.setup(WWW)
    with pytest.raises(DnsRefusedError, match=r"DNS server 127.0.0.1 holds no zone for _acme-challenge.www."
                                              r"example.org. \(it answered the SOA query with REFUSED\)"):
        solver.ready(Deadline(clock, 300))
    assert client.updates == []


def test_a_refused_update_places_nothing_and_teardown_sends_nothing(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    client.refuse["example.org."] = "REFUSED"
    solver = _solver(client, clock)
    solver.setup(WWW)
    with pytest.raises(DnsRefusedError, match="REFUSED"):
        solver.ready(Deadline(clock, 300))
    solver.teardown(WWW)
    assert len(client.updates) == 1 and example.txt("_acme-challenge.www.example.org") == []


def test_teardown_of_a_task_never_placed(dns_world, clock: FakeClock) -> None:
    client, _example = dns_world
    solver = _solver(client, clock)
    solver.setup(WWW)
    solver.teardown(WWW)  # the order failed before ready()
    solver.ready(Deadline(clock, 300))
    assert client.updates == []


def test_teardown_after_the_deadline_ran_out(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    solver = _solver(client, clock)
    deadline = Deadline(clock, 300)
    solver.setup(WWW)
    solver.ready(deadline)
    clock.advance(400)
    solver.teardown(WWW)  # cleaning up has its own deadline
    assert example.txt("_acme-challenge.www.example.org") == []


def test_propagation_waits_for_a_lagging_secondary(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("example.org", "NS", "ns2.example.org.").add("ns2.example.org", "A", "127.0.0.2")
    client.serve(SECONDARY, example, lag=4.0)  # gets each change 4 s after the primary
    solver = _solver(client, clock)
    solver.setup(WILD)
    solver.setup(APEX)
    solver.ready(Deadline(clock, 300))
    assert clock.slept == [0.5, 1.0, 2.0, 4.0]  # first look at once, then backing off
    assert solver.last_propagation == 7.5
    asked = {q[0] for q in client.queries if q[2] == "TXT"}
    assert asked == {PRIMARY, SECONDARY}


def test_propagation_timeout_names_the_server_that_lags(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("example.org", "NS", "ns2.example.org.").add("ns2.example.org", "A", "127.0.0.2")
    client.serve(SECONDARY, zone("example.org", {"ns1.example.org": "127.0.0.1"}))  # never gets updates
    solver = _solver(client, clock, propagation_timeout=20)
    solver.setup(WWW)
    with pytest.raises(ChallengeError, match=r"after 1\d s, not every name server of zone example.org. serves the "
                                             r"dns-01 record _acme-challenge.www.example.org.: ns2.example.org. "
                                             r"\(127.0.0.2\) lacks 1 of 1 values"):
        solver.ready(Deadline(clock, 300))
    assert sum(clock.slept) <= 20
    solver.teardown(WWW)  # placed on the primary, so removed there
    assert example.txt("_acme-challenge.www.example.org") == []


def test_propagation_is_bounded_by_the_order_deadline(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("example.org", "NS", "ns2.example.org.").add("ns2.example.org", "A", "127.0.0.2")
    # ns2 does not answer at all
    solver = _solver(client, clock, propagation_timeout=600)
    solver.setup(WWW)
    with pytest.raises(ChallengeError, match=r"ns2.example.org.: DNS server 127.0.0.2 did not answer"):
        solver.ready(Deadline(clock, 10))
    assert sum(clock.slept) <= 10


def test_unreachable_address_does_not_block_a_server_that_answers(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    example.add("ns1.example.org", "A", "127.0.0.3")  # a second address of ns1 that does not answer
    solver = _solver(client, clock)
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert clock.slept == []


def test_fixed_wait_after_the_check_and_none_without_it(dns_world, clock: FakeClock) -> None:
    client, _example = dns_world
    solver = _solver(client, clock, propagation_seconds=30, propagation_check=False)
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert clock.slept == [30]
    assert not any(q[2] in ("NS", "TXT") for q in client.queries)
    solver.ready(Deadline(clock, 300))  # nothing new set up: no second wait
    assert clock.slept == [30]
    solver.setup(APEX)
    solver.ready(Deadline(clock, 10))
    assert clock.slept == [30, 10]  # bounded by the order's deadline


def test_nameserver_port(dns_world, clock: FakeClock) -> None:
    client, example = dns_world
    client.serve(Nameserver("127.0.0.1", 5300), example)
    solver = _solver(client, clock, nameserver_port=5300)
    solver.setup(WWW)
    solver.ready(Deadline(clock, 300))
    assert {q[0] for q in client.queries if q[2] == "TXT"} == {Nameserver("127.0.0.1", 5300)}
