"""HttpClient.exchange_all: a batch of plain-http exchanges from one thread (net/multiplex.py)
against real peers on loopback, under the same rules as one exchange: each its own deadline
from its start, a trickling or silent peer ends at it, kept-alive connections shared and
replaced when the peer closed them, every failure an HttpFailure of the right kind for its
request alone. And Transport.exchange_all's thread pool, which https batches and injected
transports use."""

from __future__ import annotations

import socket
import threading
import urllib.parse

import pytest

from mdcore.clock import Clock, Deadline
from mdcore.errors import MdError, OcspError
from mdcore.net import HttpClient, HttpFailure, HttpReply, HttpTimeout, Transport
from mdcore.net.reply import Headers, Request
from peers.slow_peer import ANSWER, CLOSE_AFTER, DRIP, SILENT, SlowPeer, SteppingClock

SHORT = 0.3  # seconds of real time, where a real socket has to be slow
HOLD_SECONDS = 30.0  # a deadline only: the held exchanges are released at once in a passing run


def client(**kwargs) -> HttpClient:
    kwargs.setdefault("trust_env", False)
    return HttpClient(**kwargs)


def run(http: Transport, requests: list[Request], parallel: int = 4, seconds: float = 5.0,
        clock: Clock | None = None) -> dict[int, HttpReply | MdError]:
    outcomes: dict[int, HttpReply | MdError] = {}
    for index, outcome in http.exchange_all(requests, parallel, lambda: Deadline(clock or Clock(), seconds)):
        assert index not in outcomes  # every request ends once
        outcomes[index] = outcome
    return outcomes


def test_a_batch_shares_kept_alive_connections():
    with SlowPeer(ANSWER) as peer:
        http = client()
        outcomes = run(http, [Request("GET", peer.url("/r%d" % i)) for i in range(20)], parallel=4)
        http.close()
    assert sorted(outcomes) == list(range(20))
    assert all(isinstance(o, HttpReply) and o.status == 200 and o.json() == {} for o in outcomes.values())
    assert outcomes[7].url == peer.url("/r7") and outcomes[7].headers["Replay-Nonce"] == "drip-nonce"
    assert peer.connections <= 4  # never more connections than exchanges in flight
    assert sorted(h.split(b" ")[1] for h in peer.heads) == sorted(b"/r%d" % i for i in range(20))


def test_posts_carry_their_body_and_headers():
    with SlowPeer(ANSWER) as peer:
        outcomes = run(client(), [Request("POST", peer.url("/ocsp"), b"\x30\x00",
                                          {"Content-Type": "application/ocsp-request"})])
    assert outcomes[0].status == 200
    head = peer.heads[0].decode()
    assert head.startswith("POST /ocsp HTTP/1.1\r\n") and "\r\nContent-Length: 2" in head
    assert "\r\nContent-Type: application/ocsp-request" in head


def test_a_body_larger_than_the_socket_buffer_is_sent_in_full():
    # the request is sent right after connect (multiplex._send_early): a body that does not fit
    # the socket's buffer goes on when poll() says there is room, and the peer answers only
    # once it has read every byte of it
    body = bytes(range(256)) * (8 << 12)  # 8 MiB
    with SlowPeer(ANSWER) as peer:
        outcomes = run(client(), [Request("POST", peer.url("/big"), body), Request("GET", peer.url())], seconds=30.0)
    assert outcomes[0].status == 200 and outcomes[1].status == 200
    # two connections: the heads arrive in either order
    big = [head.decode() for head in peer.heads if head.startswith(b"POST /big ")]
    assert len(big) == 1 and "\r\nContent-Length: %d" % len(body) in big[0]


def test_a_refused_address_is_followed_by_the_next_one(monkeypatch):
    # the refusal shows at the send right after connect: it is the connect's failure, and the
    # origin's next address is tried, as when poll() reports it (SO_ERROR)
    refused = refused_url()
    with SlowPeer(ANSWER) as good:
        http = client()
        closed, live = (urllib.parse.urlsplit(u) for u in (refused, good.url()))
        two = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (closed.hostname, closed.port)),
               (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (live.hostname, live.port))]
        monkeypatch.setattr(http, "_addresses", lambda *_args: list(two))
        both = run(http, [Request("GET", good.url())])
        http.close()
        http = client()  # no kept-alive connection to the good peer
        monkeypatch.setattr(http, "_addresses", lambda *_args: two[:1] * 2)
        neither = run(http, [Request("GET", good.url())])
        http.close()
    assert both[0].status == 200 and good.connections == 1
    assert (neither[0].kind, neither[0].reason) == (HttpFailure.UNREACHABLE, "Connection refused")


def test_a_connect_still_under_way_is_finished_by_poll(monkeypatch):
    # on loopback the connection is up when connect_ex returns; a farther peer's is not: then
    # poll() says when it is (POLLOUT, SO_ERROR), and a refusal found there moves on to the
    # next address as well
    from mdcore.net import multiplex

    def still_connecting(flight) -> None:
        flight.connecting = True

    monkeypatch.setattr(multiplex, "_send_early", still_connecting)
    refused = refused_url()
    with SlowPeer(ANSWER) as good:
        closed, live = (urllib.parse.urlsplit(u) for u in (refused, good.url()))
        http = client()
        monkeypatch.setattr(http, "_addresses", lambda *_args: [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (closed.hostname, closed.port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (live.hostname, live.port))])
        outcomes = run(http, [Request("POST", good.url("/ocsp"), b"\x30\x00"), Request("GET", refused)])
        http.close()
    assert outcomes[0].status == 200 and outcomes[1].status == 200  # both reached the good peer
    assert sorted(head.split(b" ", 2)[:2] for head in good.heads) == [[b"GET", b"/"], [b"POST", b"/ocsp"]]
    outcomes = run(client(), [Request("GET", refused)])
    assert (outcomes[0].kind, outcomes[0].reason) == (HttpFailure.UNREACHABLE, "Connection refused")


def test_a_connection_the_peer_closed_is_replaced():
    """The peer closes after each answer without saying so: the next exchange finds the idle
    connection closed (at once, or when its request meets the closed socket) and uses a new one."""
    with SlowPeer(CLOSE_AFTER) as peer:
        http = client()
        for _round in range(3):
            outcomes = run(http, [Request("GET", peer.url())], parallel=1)
            assert outcomes[0].status == 200
        http.close()
    assert peer.connections == 3 and len(peer.heads) == 3


def test_each_exchange_gets_its_deadline_when_it_begins():
    """A queue does not eat into the later exchanges' time: start() is asked when an exchange
    begins, here after the one before it has ended (parallel=1, a silent peer)."""
    started: list[int] = []
    ended: list[int] = []
    with SlowPeer(SILENT) as peer:
        http = client()

        def start() -> Deadline:
            started.append(len(ended))  # how many had ended when this one began
            return Deadline(Clock(), SHORT)

        for index, outcome in http.exchange_all([Request("GET", peer.url())] * 3, 1, start):
            assert isinstance(outcome, HttpTimeout) and outcome.seconds == SHORT and outcome.received == 0
            assert "no answer within 0.3s" in str(outcome)
            ended.append(index)
        http.close()
    assert started == [0, 1, 2] and ended == [0, 1, 2]


def test_a_trickling_peer_ends_at_the_deadline_by_the_injected_clock():
    clock = SteppingClock()
    with SlowPeer(DRIP, step=clock.drip_step) as peer:
        http = client()
        outcomes = run(http, [Request("GET", peer.url("/dir"))], seconds=10, clock=clock)
        http.close()
    failure = outcomes[0]
    assert isinstance(failure, HttpTimeout) and failure.kind == HttpFailure.TIMEOUT
    assert "answer not complete within 10s" in str(failure) and "sends too slowly" in str(failure)
    assert failure.received in (4, 5, 6)  # a byte every 2 s of the injected clock


def refused_url() -> str:
    with SlowPeer(ANSWER) as gone:
        return gone.url()  # nothing listens on its port once it stopped


def test_failures_stay_with_their_request():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    refused = refused_url()
    with SlowPeer(ANSWER) as good, SlowPeer(ANSWER, answer=big) as large, \
            SlowPeer(ANSWER, answer=b"SPDY/3 200\r\n\r\n") as odd:
        http = client(max_bytes=1024)
        outcomes = run(http, [Request("GET", good.url()), Request("GET", large.url()), Request("GET", refused),
                              Request("GET", odd.url()), Request("GET", "http://user@127.0.0.1/"),
                              Request("GET", good.url())])
        http.close()
    assert outcomes[0].status == 200 and outcomes[5].status == 200
    assert outcomes[1].kind == HttpFailure.TOO_LARGE
    assert (outcomes[2].kind, outcomes[2].reason) == (HttpFailure.UNREACHABLE, "Connection refused")
    assert outcomes[3].kind == HttpFailure.PROTOCOL and "not an HTTP/1.x status line" in outcomes[3].reason
    assert outcomes[4].kind == HttpFailure.BAD_URL


def test_an_exchange_that_may_not_begin_sends_nothing():
    with SlowPeer(ANSWER) as peer:
        calls: list[int] = []

        def start() -> Deadline:
            calls.append(1)
            if len(calls) > 1:
                raise OcspError("not asked: the run's time was used up")
            return Deadline(Clock(), 5)

        outcomes = dict(client().exchange_all([Request("GET", peer.url())] * 3, 1, start))
    assert outcomes[0].status == 200
    assert [str(outcomes[i]) for i in (1, 2)] == ["not asked: the run's time was used up"] * 2
    assert len(peer.heads) == 1


def test_a_batch_given_up_closes_its_connections():
    refused = refused_url()
    with SlowPeer(SILENT) as peer:
        http = client()
        batch = http.exchange_all([Request("GET", refused)] + [Request("GET", peer.url())] * 3, 4,
                                  lambda: Deadline(Clock(), 30))
        index, outcome = next(batch)  # the refused one ends at once, three wait for the silent peer
        assert index == 0 and outcome.kind == HttpFailure.UNREACHABLE
        batch.close()  # the caller stops (an exception in its loop)
        assert http._open == set()  # noqa: SLF001 - nothing is left open behind the caller's back
        http.close()


class Recorder(Transport):
    """A transport of a test (as the stapling tests inject): exchange() only."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.lock = threading.Lock()
        self.urls: list[str] = []
        self.fail_at = fail_at
        # Exchanges begun after the failing one wait here until the pool is being shut down, so
        # how many begin does not depend on how fast the caller's thread sees the failure.
        self.release = threading.Event()

    def exchange(self, method, url, body, deadline, headers=None):
        with self.lock:
            self.urls.append(url)
            count = len(self.urls)
        if count == self.fail_at:
            raise KeyboardInterrupt  # what a signal handler raises: no MdError
        if self.fail_at is not None and count > self.fail_at:
            assert self.release.wait(HOLD_SECONDS), "the pool was never shut down"
        if url.endswith("/bad"):
            raise OcspError("responder bad.test unreachable")
        return HttpReply(200, Headers(), url.encode(), url)


def test_the_thread_pool_of_injected_transports_and_https():
    transport = Recorder()
    requests = [Request("GET", "http://a.test/%d" % i) for i in range(10)] + [Request("GET", "http://a.test/bad")]
    outcomes = run(transport, requests, parallel=4)
    assert [outcomes[i].body for i in range(10)] == [b"http://a.test/%d" % i for i in range(10)]
    assert isinstance(outcomes[10], OcspError)
    assert sorted(transport.urls) == sorted(r.url for r in requests)


def test_what_is_no_mderror_stops_the_batch_and_nothing_more_begins(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    transport = Recorder(fail_at=3)
    shutdown = ThreadPoolExecutor.shutdown

    def cancel_then_release(pool, wait=True, *, cancel_futures=False):
        shutdown(pool, wait=False, cancel_futures=cancel_futures)  # what is queued goes first
        transport.release.set()
        shutdown(pool, wait=wait)

    monkeypatch.setattr(ThreadPoolExecutor, "shutdown", cancel_then_release)
    with pytest.raises(KeyboardInterrupt):
        run(transport, [Request("GET", "http://a.test/%d" % i) for i in range(50)], parallel=2)
    # The three begun before the failure and, at most, one more per thread: the rest never begin.
    assert len(transport.urls) <= 3 + 2


class Feed:
    """``more()`` for a batch: the given lists one per call, then []; notes how many requests
    of the batch had ended at each call."""

    def __init__(self, *batches: list[Request]) -> None:
        self.batches = list(batches)
        self.ended_at: list[int] = []
        self.ended = 0

    def __call__(self) -> list[Request]:
        self.ended_at.append(self.ended)
        return self.batches.pop(0) if self.batches else []


def run_fed(http: Transport, requests: list[Request], feed: Feed, parallel: int) -> dict[int, HttpReply | MdError]:
    outcomes: dict[int, HttpReply | MdError] = {}
    for index, outcome in http.exchange_all(requests, parallel, lambda: Deadline(Clock(), 5.0), feed):
        assert index not in outcomes  # every request ends once
        outcomes[index] = outcome
        feed.ended += 1
    return outcomes


def test_a_plain_batch_takes_more_requests_while_places_are_free():
    """more() is asked once every request so far has begun and a place is free (the first time
    before any answer: four places, one request), its requests numbered after the ones before."""
    with SlowPeer(ANSWER) as peer:
        http = client()
        feed = Feed([Request("GET", peer.url("/b%d" % i)) for i in range(3)],
                    [Request("GET", peer.url("/c%d" % i)) for i in range(5)])
        outcomes = run_fed(http, [Request("GET", peer.url("/a"))], feed, parallel=4)
        http.close()
    assert sorted(outcomes) == list(range(9)) and all(o.status == 200 for o in outcomes.values())
    wanted = [peer.url("/a"), peer.url("/b0"), peer.url("/c0"), peer.url("/c4")]
    assert [outcomes[i].url for i in (0, 1, 4, 8)] == wanted
    assert feed.ended_at[0] == 0 and len(feed.ended_at) == 3  # the last call found nothing left
    assert feed.ended_at[1] >= 1  # the four places were full until an answer came


def test_a_plain_batch_may_begin_empty_and_refuses_what_is_not_http():
    with SlowPeer(ANSWER) as peer:
        http = client()
        feed = Feed([Request("GET", peer.url("/x")), Request("GET", "https://tls.test/y")])
        outcomes = run_fed(http, [], feed, parallel=2)
        http.close()
    assert outcomes[0].status == 200
    assert isinstance(outcomes[1], HttpFailure) and outcomes[1].kind == HttpFailure.BAD_URL
    assert len(peer.heads) == 1


def test_the_thread_pool_takes_more_after_each_batch():
    transport = Recorder()
    feed = Feed([Request("GET", "http://a.test/m%d" % i) for i in range(3)], [Request("GET", "http://a.test/bad")])
    outcomes = run_fed(transport, [Request("GET", "http://a.test/%d" % i) for i in range(2)], feed, parallel=4)
    assert [outcomes[i].body for i in range(5)] == [b"http://a.test/0", b"http://a.test/1", b"http://a.test/m0",
                                                    b"http://a.test/m1", b"http://a.test/m2"]
    assert isinstance(outcomes[5], OcspError)
    assert feed.ended_at == [2, 5, 6]  # each batch ended before the next was asked for
