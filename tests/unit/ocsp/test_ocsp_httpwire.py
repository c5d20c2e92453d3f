"""The HTTP/1.x reader of the plain-http transport, fed scripted bytes over a socket pair: every
framing RFC 9112 allows, 1xx answers, leftovers for the next response, and refusals for what
cannot be framed, is too large or never ends."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from mdcore.clock import Clock, Deadline
from mdcore.net.wire import PeerClosed, ResponseReader, TooLarge, WireError, encode_request
from peers.slow_peer import SteppingClock


def read(*pieces: bytes, max_body: int = 1024, close: bool = True, seconds: float = 5.0,
         head_only: bool = False, clock: Clock | None = None, step=None):
    """Send ``pieces`` (each in its own send, ``step()`` called after each) and read one response
    against a deadline of ``seconds`` on ``clock``."""
    ours, theirs = socket.socketpair()

    def peer() -> None:
        try:
            for piece in pieces:
                theirs.sendall(piece)
                if step:
                    step()
        except OSError:
            return  # the reader gave up (the deadline tests): nothing more to send
        if close:
            theirs.close()

    writer = threading.Thread(target=peer, daemon=True)
    writer.start()
    try:
        reader = ResponseReader(ours)
        return reader.read(Deadline(clock or Clock(), seconds), max_body, head_only=head_only), reader
    finally:
        ours.close()
        writer.join(5)
        theirs.close()


def test_content_length_body_and_keep_alive_with_leftover():
    resp, reader = read(b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 3\r\n\r\nabc"
                        b"HTTP/1.1 200 OK\r\n", close=False)
    assert (resp.status, resp.body, resp.keep_alive) == (200, b"abc", True)
    assert resp.headers["content-type"] == "application/ocsp-response"
    assert reader.buffer == b"HTTP/1.1 200 OK\r\n"  # the start of the next response stays


def test_bytes_split_anywhere_are_joined():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    resp, _reader = read(*[raw[i:i + 1] for i in range(len(raw))], close=False)
    assert resp.body == b"hello"


def test_chunked_body_with_extensions_and_trailer():
    resp, _reader = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                         b"3;ext=1\r\nabc\r\n", b"2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n", close=False)
    assert (resp.body, resp.keep_alive) == (b"abcde", True)


def test_body_until_close_for_http10_without_length():
    resp, _reader = read(b"HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n\r\n", b"part1", b"part2")
    assert (resp.body, resp.keep_alive) == (b"part1part2", False)


@pytest.mark.parametrize("connection, version, alive", [
    ("close", "1.1", False), ("", "1.1", True), ("keep-alive", "1.0", True), ("", "1.0", False),
    ("Keep-Alive, Upgrade", "1.0", True),
])
def test_keep_alive_rules(connection, version, alive):
    head = "HTTP/%s 200 OK\r\nContent-Length: 0\r\n" % version
    if connection:
        head += "Connection: %s\r\n" % connection
    resp, _reader = read((head + "\r\n").encode(), close=False)
    assert resp.keep_alive is alive


def test_informational_answers_are_skipped():
    resp, _reader = read(b"HTTP/1.1 100 Continue\r\n\r\n",
                         b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno")
    assert (resp.status, resp.body) == (500, b"no")


def test_no_body_statuses_and_head():
    resp, _reader = read(b"HTTP/1.1 204 No Content\r\n\r\n", close=False)
    assert (resp.status, resp.body) == (204, b"")
    resp, _reader = read(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head_only=True, close=False)
    assert (resp.status, resp.body) == (200, b"")


def test_repeated_headers_are_joined():
    resp, _reader = read(b"HTTP/1.1 200 OK\r\nVia: a\r\nvia: b\r\nContent-Length: 0\r\n\r\n", close=False)
    assert resp.headers["via"] == "a, b"


def test_nothing_at_all_is_peer_closed():
    with pytest.raises(PeerClosed):
        read()


@pytest.mark.parametrize("raw, reason", [
    (b"garbage\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 2x0 OK\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 \xb2\xb3\xb9 OK\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd", "conflicting Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: \xb3\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported transfer coding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX", "chunk not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "closed inside the response body"),
    (b"HTTP/1.1 200 OK\r\nContent-", "closed inside the response head"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "closed inside the response body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5", "closed inside a chunked body"),
])
def test_broken_framing_is_refused_with_a_reason(raw, reason):
    with pytest.raises(WireError, match=reason):
        read(raw)


def test_endless_head_is_refused():
    with pytest.raises(WireError, match="response head longer than"):
        read(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 40000 + b"\r\n\r\n")


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n" + b"x" * 2048,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"x" * 1024 + b"\r\n1\r\nx\r\n0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 2048,
])
def test_oversize_bodies_are_refused_in_every_framing(raw):
    with pytest.raises(TooLarge):
        read(raw, max_body=1024)


def test_a_silent_peer_ends_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        read(b"HTTP/1.1 200 OK\r\n", close=False, seconds=0.2)
    assert time.monotonic() - started < 2


def test_a_trickling_peer_ends_at_the_deadline():
    """A byte now and then resets no timer: the whole response shares one deadline (a byte every
    2 s of an injected clock, sent when the reader looked at the clock again: no real waiting)."""
    clock = SteppingClock()
    started = clock.monotonic()
    with pytest.raises(TimeoutError):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", *[b"x"] * 100, close=False, seconds=30,
             clock=clock, step=clock.drip_step)
    assert clock.monotonic() - started < 40  # ended at the deadline, not after the 200 s of the whole drip


def test_encode_request_is_one_buffer_with_length():
    raw = encode_request("POST", "/ocsp", "ocsp.test:8080", {"Accept": "application/ocsp-response"}, b"\x30\x00")
    assert raw == (b"POST /ocsp HTTP/1.1\r\nHost: ocsp.test:8080\r\nAccept: application/ocsp-response\r\n"
                   b"Content-Length: 2\r\n\r\n\x30\x00")
    assert encode_request("GET", "/MEow", "h", {}, None) == b"GET /MEow HTTP/1.1\r\nHost: h\r\n\r\n"


def test_the_parser_keeps_no_state_and_asks_for_more():
    """parse_response (what the blocking reader and the non-blocking loop share): None until the
    response is complete, then the response and how many bytes it took; a body without framing
    only at the end of the connection."""
    from mdcore.net.wire import parse_response

    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1"
    assert [parse_response(raw[:cut], False, 1024) for cut in (0, 10, 38, 40)] == [None] * 4
    response, used = parse_response(raw, False, 1024)
    assert (response.body, used, raw[used:]) == (b"abc", 41, b"HTTP/1.1")
    until_close = b"HTTP/1.0 200 OK\r\n\r\nbody"
    assert parse_response(until_close, False, 1024) is None
    response, used = parse_response(until_close, True, 1024)
    assert (response.body, response.keep_alive, used) == (b"body", False, len(until_close))
    with pytest.raises(PeerClosed):
        parse_response(b"", True, 1024)
    with pytest.raises(WireError, match="closed inside the response head"):
        parse_response(b"HTTP/1.1 100 Continue\r\n\r\n", True, 1024)  # a 1xx, then nothing
    with pytest.raises(TooLarge):  # refused as soon as the length is known, before the body arrives
        parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", False, 1024)
