"""Just enough HTTP/1.1 on a socket for the engine's peers (ACME CAs, OCSP responders, proxies):
encode one request, read one response (status line, headers, a body framed by Content-Length,
chunked coding or the end of the connection) under ONE deadline for the whole answer and a size
cap.

Every recv() gets what is left of the deadline, so a peer that trickles a byte now and then ends
at the deadline like one that never answers (a per-read timeout, as in http.client, urllib3 and
requests, lets it run forever). Why not http.client: its header parsing goes through the email
package; measured against pebble over TLS with keep-alive, one request cost 129 us of CPU with
http.client, 232 us with urllib3, 509 us with requests and 61 us here. Answers of ACME and OCSP
servers are small and their framing is simple; this reader handles all three framings RFC 9112
allows, skips 1xx answers and refuses what it cannot frame.
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
    """Reads responses from one connection; keeps bytes that arrived beyond a response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.received = 0  # bytes read from the socket so far (a slow peer's error tells it)

    def read(self, deadline: Deadline, max_body: int, head_only: bool = False) -> WireResponse:
        """The next final (non-1xx) response. Raises TimeoutError when the deadline passes,
        PeerClosed when nothing at all arrived, WireError/TooLarge for broken answers."""
        first = True
        while True:
            version, status, headers = self._head(deadline, first)
            first = False
            if status >= 200:
                break
        keep_alive = _keep_alive(version, headers.get("connection", ""))
        if head_only or status in NO_BODY_STATUSES:
            return WireResponse(status, headers, b"", keep_alive)
        coding = headers.get("transfer-encoding", "").lower()
        if coding:
            if coding.split(",")[-1].strip() != "chunked":
                raise WireError("unsupported transfer coding %r" % coding)
            body = self._chunked(deadline, max_body)
        elif "content-length" in headers:
            body = self._exactly(_content_length(headers["content-length"]), deadline, max_body)
        else:
            body, keep_alive = self._until_close(deadline, max_body), False
        return WireResponse(status, headers, body, keep_alive)

    # -- pieces -----------------------------------------------------------------------------
    def _recv(self, deadline: Deadline) -> bytes:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TimeoutError()
        self.sock.settimeout(remaining)
        data = self.sock.recv(RECV_BYTES)
        self.received += len(data)
        return data

    def _head(self, deadline: Deadline, first: bool) -> tuple[str, int, dict]:
        while True:
            end = self.buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
            if end >= 0:
                break
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise WireError("response head longer than %d bytes" % MAX_HEAD_BYTES)
            data = self._recv(deadline)
            if not data:
                if first and not self.buffer:
                    raise PeerClosed("connection closed before the response")
                raise WireError("connection closed inside the response head")
            self.buffer += data
        head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
        lines = head.decode("latin-1").split("\r\n")
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
        return version, int(code), headers

    def _take(self, size: int, deadline: Deadline) -> bytes:
        while len(self.buffer) < size:
            data = self._recv(deadline)
            if not data:
                raise WireError("connection closed inside the response body")
            self.buffer += data
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _line(self, deadline: Deadline) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                return line
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise WireError("chunk line longer than %d bytes" % MAX_HEAD_BYTES)
            data = self._recv(deadline)
            if not data:
                raise WireError("connection closed inside a chunked body")
            self.buffer += data

    def _exactly(self, size: int, deadline: Deadline, max_body: int) -> bytes:
        if size > max_body:
            raise TooLarge("body of %d bytes" % size)
        return self._take(size, deadline)

    def _chunked(self, deadline: Deadline, max_body: int) -> bytes:
        parts, total = [], 0
        while True:
            size_text = self._line(deadline).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise WireError("bad chunk size %r" % size_text[:20]) from None
            if size < 0:
                raise WireError("bad chunk size %r" % size_text[:20])
            if size == 0:
                while self._line(deadline):  # trailer fields, up to the empty line
                    pass
                return b"".join(parts)
            total += size
            if total > max_body:
                raise TooLarge("chunked body over %d bytes" % max_body)
            parts.append(self._take(size, deadline))
            if self._take(2, deadline) != b"\r\n":
                raise WireError("chunk not followed by CRLF")

    def _until_close(self, deadline: Deadline, max_body: int) -> bytes:
        parts, total = [self.buffer], len(self.buffer)
        self.buffer = b""
        while True:
            if total > max_body:
                raise TooLarge("body over %d bytes" % max_body)
            data = self._recv(deadline)
            if not data:
                return b"".join(parts)
            parts.append(data)
            total += len(data)


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


__all__ = ["encode_request", "ResponseReader", "WireResponse", "WireError", "PeerClosed", "TooLarge"]
