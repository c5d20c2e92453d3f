"""Many plain-http exchanges from one thread (HttpClient.exchange_all): a stapling run asks one
responder for a thousand certificates, and threads cost more than the exchanges — the same run
with 8 exchange threads took twice the CPU of one thread (each wake-up fights for the GIL).
Here non-blocking sockets and one poll() carry up to ``parallel`` exchanges at once, and the
caller verifies and stores each answer between two steps of the loop.

The same rules as the blocking client (client.py): each exchange has ONE deadline for all of it
(given when it begins, so a long queue does not eat into the later exchanges' time), the answer
is parsed by wire.parse_response, idle keep-alive connections of the client are taken and given
back, a kept-alive connection the peer closed meanwhile is replaced once, and failures are
HttpFailure of the same kinds. Only http:// (direct, or through an http:// proxy in the absolute
form): TLS and CONNECT tunnels go through the blocking client's threads.
"""

from __future__ import annotations

import errno
import os
import select
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from ..clock import Deadline
from ..errors import MdError
from .reply import Headers, HttpFailure, HttpReply, HttpTimeout, More, Request
from .wire import RECV_BYTES, PeerClosed, WireError, parse_response

_PLAIN = "http://"
_IN_PROGRESS = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK)


class _Flight:
    """One exchange in progress."""

    __slots__ = ("index", "url", "deadline", "origin", "data", "limit", "head_only", "sent", "conn", "reused",
                 "buffer", "addresses", "connecting", "last_error")

    def __init__(self, index: int, request: Request, deadline: Deadline, origin) -> None:
        self.index, self.url, self.deadline, self.origin = index, request.url, deadline, origin
        self.data = b""
        self.limit = 0
        self.head_only = request.method == "HEAD"
        self.sent = 0
        self.conn = None
        self.reused = False
        self.buffer = b""
        self.addresses: list | None = None  # getaddrinfo's, tried in order
        self.connecting = False
        self.last_error: OSError | None = None


def exchange_plain(client, requests: Sequence[Request], parallel: int, start: Callable[[], Deadline],
                   more: More | None = None) -> Iterator[tuple[int, HttpReply | MdError]]:
    """HttpClient.exchange_all for http:// URLs (see reply.Transport.exchange_all): ``more()`` is
    asked whenever a place is free and every request so far has begun."""
    poller = select.poll()
    requests = list(requests)
    waiting = deque(range(len(requests)))
    flying: dict[int, _Flight] = {}  # by file descriptor
    try:
        while True:
            while len(flying) < max(1, parallel):
                if not waiting:
                    added = more() if more is not None else []
                    if not added:
                        more = None
                        break
                    waiting.extend(range(len(requests), len(requests) + len(added)))
                    requests.extend(added)
                index = waiting.popleft()
                outcome = _begin(client, poller, flying, index, requests[index], start)
                if outcome is not None:
                    yield index, outcome
            if not flying:
                break  # nothing waits either: the places are free and more() gave nothing
            first = min(flying.values(), key=lambda f: f.deadline.expires).deadline
            clock = first.clock  # start() gives every deadline this clock
            timeout = max(0.0, first.expires - clock.monotonic())
            try:
                ready = poller.poll(timeout * 1000.0 + 1.0)  # ms; never spin on a rounded-down 0
            except InterruptedError:
                continue
            for fd, _events in ready:
                flight = flying.get(fd)
                if flight is None:
                    continue
                outcome = _step(client, poller, flying, flight)
                if outcome is not None:
                    yield flight.index, outcome
            now = clock.monotonic()
            for flight in [f for f in flying.values() if f.deadline.expires <= now]:
                received = len(flight.buffer)
                _drop(poller, flying, flight)
                yield flight.index, HttpTimeout(flight.url, flight.deadline.seconds, received)
    finally:
        for flight in list(flying.values()):
            _drop(poller, flying, flight)


def _begin(client, poller, flying: dict, index: int, request: Request, start) -> HttpReply | MdError | None:
    """Start one exchange; its outcome when it ended at once (start refused, a bad URL, no address)."""
    try:
        if not (isinstance(request.url, str) and request.url.startswith(_PLAIN)):
            raise HttpFailure(HttpFailure.BAD_URL, str(request.url), "not http:// (a batch of plain exchanges)")
        deadline = start()
        origin, target = client._origin(request.url)
    except MdError as exc:
        return exc
    flight = _Flight(index, request, deadline, origin)
    flight.data = client._encode(origin, request.method, target, request.url, request.body, request.headers)
    flight.limit = client.max_bytes
    flight.conn = origin.take()
    if flight.conn is not None:
        flight.reused = True
        flight.conn.sock.setblocking(False)
        _watch(poller, flying, flight, select.POLLOUT)
        return None
    return _connect(client, poller, flying, flight)


def _connect(client, poller, flying: dict, flight: _Flight) -> MdError | None:
    """Connect to the origin's next address (non-blocking); the failure when none is left."""
    try:
        if flight.addresses is None:
            host, port = flight.origin.connect_to
            flight.addresses = list(client._addresses(flight.origin, host, port, flight.deadline))
    except (OSError, WireError) as exc:
        return _failure(client, exc, flight)
    while flight.addresses:
        family, kind, proto, _name, address = flight.addresses.pop(0)
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # before connect: no call after it
        code = sock.connect_ex(address)
        if code == 0 or code in _IN_PROGRESS:
            flight.conn = client._new_conn(sock)
            failed = _send_early(flight)
            if failed is None:
                _watch(poller, flying, flight, select.POLLIN if flight.sent == len(flight.data) else select.POLLOUT)
                return None
            conn, flight.conn = flight.conn, None
            conn.close()
            flight.last_error = failed
            continue
        sock.close()
        flight.last_error = OSError(code, os.strerror(code))
    return _failure(client, flight.last_error or OSError("no address for %s" % flight.origin.connect_to[0]),
                    flight)


def _send_early(flight: _Flight) -> OSError | None:
    """Send the request right after connect_ex: to a peer on loopback or nearby the connection is
    up by then, which saves a poll() round per exchange (POLLOUT, SO_ERROR) and hands the peer its
    request sooner (a single-threaded responder waits for it). None when sent, in full or in part,
    or when the connection is not up yet (``connecting``: the poll loop finishes it, as before);
    else the connect's failure (refused, unreachable), which send reports instead of SO_ERROR."""
    flight.connecting = False
    try:
        flight.sent = flight.conn.sock.send(flight.data)
    except (BlockingIOError, InterruptedError):
        flight.connecting = True
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:  # ENOTCONN: still connecting where send says so (not Linux)
            return exc
        flight.connecting = True
    return None


def _step(client, poller, flying: dict, flight: _Flight) -> HttpReply | MdError | None:
    """Whatever the socket of ``flight`` is ready for: finish connecting, send, or read."""
    sock = flight.conn.sock
    try:
        if flight.connecting:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                flight.last_error = OSError(code, os.strerror(code))
                _drop(poller, flying, flight)
                return _connect(client, poller, flying, flight)  # the next address, if any
            flight.connecting = False
        if flight.sent < len(flight.data):
            flight.sent += sock.send(flight.data[flight.sent:])
            if flight.sent == len(flight.data):
                poller.modify(sock, select.POLLIN)
            return None
        data = sock.recv(RECV_BYTES)
        flight.buffer += data
        parsed = parse_response(flight.buffer, not data, flight.limit, flight.head_only)
    except (BlockingIOError, InterruptedError):
        return None
    except (PeerClosed, ConnectionResetError, BrokenPipeError) as exc:
        _drop(poller, flying, flight)
        if flight.reused and not flight.buffer and not flight.deadline.expired():
            flight.reused, flight.sent = False, 0  # the peer closed a kept-alive connection: once on a new one
            return _connect(client, poller, flying, flight)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        return HttpFailure(HttpFailure.CLOSED, flight.url, "the peer closed the connection (%s)" % reason)
    except (OSError, WireError) as exc:  # TooLarge is a WireError
        _drop(poller, flying, flight)
        return _failure(client, exc, flight)
    if parsed is None:
        return None
    answer, used = parsed
    conn, flight.conn = flight.conn, None
    poller.unregister(sock)
    del flying[sock.fileno()]
    if answer.keep_alive and used == len(flight.buffer):
        flight.origin.give(conn)
    else:
        conn.close()
    return HttpReply(answer.status, Headers(answer.headers), answer.body, flight.url)


def _watch(poller, flying: dict, flight: _Flight, events: int) -> None:
    poller.register(flight.conn.sock, events)
    flying[flight.conn.sock.fileno()] = flight


def _drop(poller, flying: dict, flight: _Flight) -> None:
    """Stop watching the flight's connection and close it."""
    conn, flight.conn = flight.conn, None
    if conn is None:
        return
    try:
        fd = conn.sock.fileno()
        if flying.get(fd) is flight:
            del flying[fd]
            poller.unregister(conn.sock)
    except (OSError, KeyError, ValueError):
        pass
    conn.close()


def _failure(client, exc: BaseException, flight: _Flight) -> MdError:
    """The exception as the blocking client words it (an HttpFailure)."""
    failure = client._as_failure(exc, flight.url, flight.deadline, len(flight.buffer))
    if not isinstance(failure, MdError):
        raise failure
    return failure


__all__ = ["exchange_plain"]
