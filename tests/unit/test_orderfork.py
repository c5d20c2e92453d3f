"""Which domains a forked order process takes (mdcore/orderfork.py), and what the run makes of
one that dies: an error naming each domain it held. The orders themselves against pebble:
tests/integration/faults/test_kill_points.py (kills in the order process) and the issuance tests."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from mdcore import orderfork
from mdcore.clock import Clock, Deadline
from mdcore.config import md_config_from_dict
from mdcore.forked import Helper


def cfg(name: str, **extra):
    doc = {"name": name, "domains": [name + ".example"], "acme_directory": "https://ca.test/dir",
           "http01_mode": "standalone", "standalone_port": 5002}
    doc.update(extra)
    return md_config_from_dict(doc)


def test_no_order_process_for_a_small_run_or_when_told(monkeypatch) -> None:
    monkeypatch.setattr(orderfork, "cpus", lambda: 2)
    cfgs = [cfg("d%d" % i) for i in range(orderfork.FORK_MIN_DUE)]
    assert orderfork.share(cfgs, list(range(orderfork.FORK_MIN_DUE - 1)), None) == []
    assert orderfork.share(cfgs, list(range(orderfork.FORK_MIN_DUE)), 1) == []
    assert len(orderfork.share(cfgs, list(range(orderfork.FORK_MIN_DUE)), None)) == orderfork.FORK_MIN_DUE // 2
    assert orderfork.share(cfgs, [0, 1], 2) == [1]
    monkeypatch.setattr(orderfork, "cpus", lambda: 1)
    assert orderfork.share(cfgs, list(range(orderfork.FORK_MIN_DUE)), None) == []


def test_only_domains_of_the_same_account_and_listener_go() -> None:
    lead = cfg("a")
    assert orderfork.forkable(cfg("b"), lead)
    assert orderfork.forkable(cfg("w", http01_mode="webroot"), lead)  # no listener needed
    assert not orderfork.forkable(cfg("p", standalone_port=5003), lead)  # another listener
    assert not orderfork.forkable(cfg("c", acme_directory="https://other.test/dir"), lead)  # another account
    assert not orderfork.forkable(cfg("d", challenge="dns-01", dns_command=["/bin/true"]), lead)
    cfgs = [cfg("d1", challenge="dns-01", dns_command=["/bin/true"]), cfg("x1"), cfg("x2"), cfg("x3")]
    assert orderfork.share(cfgs, [0, 1, 2, 3], 2) == [2, 3]  # at most half of the due domains, forkable ones


def test_an_order_process_that_dies_is_an_error_naming_its_domains() -> None:
    clock = Clock()
    released = []

    def work(send) -> None:
        send((3, "result of c", ["a note"], None))
        send.__self__.flush()  # the first answer reaches the run before the kill
        os.kill(os.getpid(), signal.SIGKILL)

    helper = Helper.start(work, clock)
    fork = orderfork.Fork(helper, [3, 5, 7], ["c", "e", "g"], Deadline(clock, 30), lambda: released.append(1))
    merged = []
    lost = fork.collect(lambda i, result, notes, verified: merged.append((i, result, notes)))
    assert merged == [(3, "result of c", ["a note"])]
    assert [i for i, _error in lost] == [5, 7]
    text = str(lost[0][1])
    assert "order process (pid %d) of e, g" % helper.pid in text and "killed by signal 9" in text
    assert "resumes" in text and released == [1]


def test_a_silent_order_process_is_killed_at_its_deadline() -> None:
    clock = Clock()

    def work(send) -> None:
        signal.pause()  # never answers; the run's deadline ends it

    helper = Helper.start(work, clock)
    fork = orderfork.Fork(helper, [0], ["a"], Deadline(clock, 0.2), lambda: None)
    lost = fork.collect(lambda *args: pytest.fail("no answer expected"))
    assert [i for i, _error in lost] == [0] and "no answer within" in str(lost[0][1])
    assert helper.status is not None and os.WIFSIGNALED(helper.status)


def test_the_workers_option_stays_what_a_ca_sees_at_once() -> None:
    assert orderfork.split_workers(8) == (4, 4)
    assert orderfork.split_workers(5) == (3, 2)
    assert orderfork.split_workers(2) == (1, 1)


class _Listener:
    """The part of the http-01 listener the relay uses (challenges/http01.py _HttpListener)."""

    def __init__(self) -> None:
        self.relay = None
        self.noted: list[str] = []
        self.arrived = threading.Event()

    def note_fetched(self, token: str) -> None:
        self.noted.append(token)
        self.arrived.set()
        if self.relay is not None:
            self.relay(token)


def test_the_tokens_the_run_serves_reach_the_order_process() -> None:
    """FetchRelay across a real fork: the run's listener serves a token of the order process's
    order, the order process's copy of the listener hears of it (its order looks at the
    authorization at once); after the relay is closed the run sends nothing more."""
    listener = _Listener()
    relay = orderfork.FetchRelay.open(listener)

    def work(send) -> None:
        relay.receive()
        send(listener.arrived.wait(10) and listener.noted[:1])

    helper = Helper.start(work, Clock())
    relay.sending()
    listener.note_fetched("tok_EN-1")  # what the run's listener does when it served the token
    answers = []
    while not answers:
        answers += helper.take(Deadline(helper.clock, 10))
    assert answers == [["tok_EN-1"]]
    relay.close()
    listener.note_fetched("after")  # no relay any more: nothing is written, nothing raises
    assert listener.relay is None
    helper.close()


def test_a_full_pipe_or_a_gone_order_process_never_stops_the_listener() -> None:
    listener = _Listener()
    relay = orderfork.FetchRelay.open(listener)
    relay.sending()  # nobody reads: the pipe fills up, the tokens are dropped
    for number in range(20000):
        listener.note_fetched("token-%05d-%s" % (number, "x" * 40))
    relay.close()
    assert len(listener.noted) == 20000
