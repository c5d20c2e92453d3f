"""Just enough HTTP/1.1 for the engine's peers (ACME CAs, OCSP responders, proxies): encode one
request, parse one response (status line, headers, a body framed by Content-Length, chunked coding
or the end of the connection) with a size cap. The parser (:func:`parse_response`) keeps no state
and does no I/O: the blocking reader below and the non-blocking loop of net/multiplex.py feed it
what arrived, so both read HTTP the same way.

The blocking reader has ONE deadline for the whole answer: every recv() gets what is left of it,
so a peer that trickles a byte now and then ends at the deadline like one that never answers (a
per-read timeout, as in http.client, urllib3 and requests, lets it run forever). Why not
http.client: its header parsing goes through the email package; measured against pebble over TLS
with keep-alive, one request cost 129 us of CPU with http.client, 232 us with urllib3, 509 us with
requests and 61 us here. Answers of ACME and OCSP servers are small and their framing is simple;
the parser handles all three framings RFC 9112 allows, skips 1xx answers and refuses what it
cannot frame.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..clock import Deadline

MAX_HEAD_BYTES = 32 * 1024  # status line + headers; OCSP responders send a few hundred bytes
RECV_BYTES = 64 * 1024
NO_BODY_STATUSES = (204, 304)


class WireError(Exception):
    """The peer sent something that is not a well-framed HTTP/1.x response."""


class PeerClosed(WireError):
    """The connection ended before the first byte of a response (a kept-alive connection the
    peer has closed meanwhile: worth one retry on a new connection)."""


class TooLarge(WireError):
    """The body is larger than the cap."""


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: dict  # lower-case name -> value (repeated headers joined with ", ")
    body: bytes
    keep_alive: bool  # whether the connection may carry the next request


def encode_request(method: str, target: str, host: str, headers: dict, body: bytes | None) -> bytes:
    """One request in a single buffer (one send: no Nagle delay between head and body)."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host]
    lines += ["%s: %s" % item for item in headers.items()]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class ResponseReader:
    """Reads responses from one blocking socket; keeps bytes that arrived beyond a response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.received = 0  # bytes read from the socket so far (a slow peer's error tells it)

    def read(self, deadline: Deadline, max_body: int, head_only: bool = False) -> WireResponse:
        """The next final (non-1xx) response. Raises TimeoutError when the deadline passes,
        PeerClosed when nothing at all arrived, WireError/TooLarge for broken answers."""
        eof = False
        while True:
            parsed = parse_response(self.buffer, eof, max_body, head_only)
            if parsed is not None:
                response, used = parsed
                self.buffer = self.buffer[used:]
                return response
            data = self._recv(deadline)
            if data:
                self.buffer += data
            else:
                eof = True  # parse_response either completes (a body read until close) or raises

    def _recv(self, deadline: Deadline) -> bytes:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError()
        self.sock.settimeout(remaining)
        data = self.sock.recv(RECV_BYTES)
        self.received += len(data)
        return data


def parse_response(buffer: bytes, eof: bool, max_body: int, head_only: bool = False) -> tuple[WireResponse, int] | None:
    """The first final (non-1xx) response in ``buffer`` and how many bytes it took, or None when
    more bytes are needed. Keeps no state: a caller feeds what arrived (the blocking reader above,
    net/multiplex.py's non-blocking loop) and asks again. ``eof``: the peer closed the connection
    after ``buffer`` (a body without framing ends there; anything else incomplete is a WireError,
    nothing at all PeerClosed). ``max_body`` caps the body (TooLarge); ``head_only``: the answer
    to a HEAD or CONNECT, which has no body whatever its headers say."""
    pos = 0
    while True:
        head = _head(buffer, pos, eof)
        if head is None:
            return None
        version, status, headers, pos = head
        if status >= 200:
            break
    keep_alive = _keep_alive(version, headers.get("connection", ""))
    if head_only or status in NO_BODY_STATUSES:
        return WireResponse(status, headers, b"", keep_alive), pos
    coding = headers.get("transfer-encoding", "").lower()
    if coding:
        if coding.split(",")[-1].strip() != "chunked":
            raise WireError("unsupported transfer coding %r" % coding)
        framed = _chunked(buffer, pos, eof, max_body)
    elif "content-length" in headers:
        size = _content_length(headers["content-length"])
        if size > max_body:
            raise TooLarge("body of %d bytes" % size)
        framed = _exactly(buffer, pos, size, eof)
    else:
        if len(buffer) - pos > max_body:
            raise TooLarge("body over %d bytes" % max_body)
        if not eof:
            return None
        framed, keep_alive = (buffer[pos:], len(buffer)), False  # read until close
    if framed is None:
        return None
    body, end = framed
    return WireResponse(status, headers, body, keep_alive), end


def _head(buffer: bytes, pos: int, eof: bool) -> tuple[str, int, dict, int] | None:
    """(version, status, headers, position after the head) of the head at ``pos``, or None."""
    end = buffer.find(b"\r\n\r\n", pos, pos + MAX_HEAD_BYTES + 4)
    if end < 0:
        if len(buffer) - pos > MAX_HEAD_BYTES:
            raise WireError("response head longer than %d bytes" % MAX_HEAD_BYTES)
        if not eof:
            return None
        if pos == 0 and not buffer:
            raise PeerClosed("connection closed before the response")
        raise WireError("connection closed inside the response head")
    lines = buffer[pos:end].decode("latin-1").split("\r\n")
    version, _sep, rest = lines[0].partition(" ")
    code = rest[:3]
    well_formed = code.isascii() and code.isdigit() and rest[3:4] in ("", " ")
    if version not in ("HTTP/1.0", "HTTP/1.1") or not well_formed:
        raise WireError("not an HTTP/1.x status line: %r" % lines[0][:80])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise WireError("malformed header line %r" % line[:80])
        name, value = name.lower(), value.strip()
        headers[name] = headers[name] + ", " + value if name in headers else value
    return version, int(code), headers, end + 4


def _exactly(buffer: bytes, pos: int, size: int, eof: bool) -> tuple[bytes, int] | None:
    if len(buffer) - pos >= size:
        return buffer[pos:pos + size], pos + size
    if eof:
        raise WireError("connection closed inside the response body")
    return None


def _chunked(buffer: bytes, pos: int, eof: bool, max_body: int) -> tuple[bytes, int] | None:
    parts, total = [], 0
    while True:
        line = _line(buffer, pos, eof)
        if line is None:
            return None
        size_text, pos = line
        size_text = size_text.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise WireError("bad chunk size %r" % size_text[:20]) from None
        if size < 0:
            raise WireError("bad chunk size %r" % size_text[:20])
        if size == 0:
            while True:  # trailer fields, up to the empty line
                line = _line(buffer, pos, eof)
                if line is None:
                    return None
                field, pos = line
                if not field:
                    return b"".join(parts), pos
        total += size
        if total > max_body:
            raise TooLarge("chunked body over %d bytes" % max_body)
        if len(buffer) - pos < size + 2:
            if eof:
                raise WireError("connection closed inside the response body")
            return None
        parts.append(buffer[pos:pos + size])
        if buffer[pos + size:pos + size + 2] != b"\r\n":
            raise WireError("chunk not followed by CRLF")
        pos += size + 2


def _line(buffer: bytes, pos: int, eof: bool) -> tuple[bytes, int] | None:
    end = buffer.find(b"\r\n", pos)
    if end >= 0:
        return buffer[pos:end], end + 2
    if len(buffer) - pos > MAX_HEAD_BYTES:
        raise WireError("chunk line longer than %d bytes" % MAX_HEAD_BYTES)
    if eof:
        raise WireError("connection closed inside a chunked body")
    return None


def _keep_alive(version: str, connection: str) -> bool:
    tokens = {token.strip().lower() for token in connection.split(",")}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


def _content_length(value: str) -> int:
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1:
        raise WireError("conflicting Content-Length %r" % value[:40])
    text = values.pop()
    if not (text.isascii() and text.isdigit()):
        raise WireError("bad Content-Length %r" % text[:40])
    return int(text)


__all__ = ["encode_request", "parse_response", "ResponseReader", "WireResponse", "WireError", "PeerClosed",
           "TooLarge"]
