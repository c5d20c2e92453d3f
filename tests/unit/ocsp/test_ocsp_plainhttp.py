"""Stapling's transport (the engine's one HTTP client, net/client.py, with stapling's messages)
against a real HTTP/1.1 server on loopback: kept-alive connections are reused (every request
answered), closed ones replaced, oversize answers refused. Written for the plain-http transport
that the shared client replaced, and kept as its contract."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mdcore.clock import Clock, Deadline
from mdcore.errors import OcspError
from mdcore.ocsp.fetch import DefaultTransport


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as most real responders do

    def do_POST(self) -> None:  # http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests += 1  # type: ignore[attr-defined]
        body = b"x" * self.server.body_size  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        if self.server.close_each:  # type: ignore[attr-defined]
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # http.server's naming
        self.server.paths.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"2\r\nok\r\n0\r\n\r\n")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.requests, srv.body_size, srv.close_each, srv.connections = 0, 100, False, 0
    srv.paths = []
    original = srv.get_request

    def counting_get_request():
        srv.connections += 1
        return original()

    srv.get_request = counting_get_request
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv) -> str:
    return "http://127.0.0.1:%d/" % srv.server_address[1]


def test_kept_alive_connection_serves_every_request(server):
    transport = DefaultTransport(proxy=None)
    try:
        replies = [transport.exchange("POST", url(server), b"req", Deadline(Clock(), 5)) for _i in range(5)]
    finally:
        transport.close()
    assert [r.status for r in replies] == [200] * 5 and all(len(r.body) == 100 for r in replies)
    assert server.requests == 5 and server.connections == 1


def test_connection_close_answers_open_a_new_connection(server):
    server.close_each = True
    transport = DefaultTransport(proxy=None)
    try:
        for _i in range(3):
            assert transport.exchange("POST", url(server), b"req", Deadline(Clock(), 5)).status == 200
    finally:
        transport.close()
    assert server.connections == 3


def test_oversize_answer_is_refused(server):
    server.body_size = 4096
    transport = DefaultTransport(max_bytes=1024)
    try:
        with pytest.raises(OcspError, match="more than 1024 bytes"):
            transport.exchange("POST", url(server), b"req", Deadline(Clock(), 5))
    finally:
        transport.close()


def test_get_targets_and_host_header(server):
    port = server.server_address[1]
    transport = DefaultTransport(proxy=None)
    try:
        for url_ in ("http://127.0.0.1:%d/ocsp/MEow%%2B%%3D" % port, "http://127.0.0.1:%d" % port,
                     "http://127.0.0.1:%d?x=1#frag" % port):
            reply = transport.exchange("GET", url_, None, Deadline(Clock(), 5))
            assert (reply.status, reply.body) == (200, b"ok")
    finally:
        transport.close()
    host = "127.0.0.1:%d" % port
    assert server.paths == [("/ocsp/MEow%2B%3D", host), ("/", host), ("/?x=1", host)]
    assert server.connections == 1


@pytest.mark.parametrize("bad", ["ftp://127.0.0.1/", "http://user@127.0.0.1/", "http://127.0.0.1:99999/",
                                 "http:///x", "127.0.0.1/ocsp"])
def test_urls_it_cannot_serve_are_refused(bad):
    transport = DefaultTransport(proxy=None)
    with pytest.raises(OcspError, match="responder URL .* is not usable"):
        transport.exchange("GET", bad, None, Deadline(Clock(), 1))


def test_unreachable_responder_is_a_clear_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = DefaultTransport(proxy=None)
    with pytest.raises(OcspError, match="unreachable: Connection refused"):
        transport.exchange("POST", "http://127.0.0.1:%d/" % port, b"req", Deadline(Clock(), 2))
