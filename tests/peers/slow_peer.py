"""Scriptable misbehaving HTTP peers on loopback: one that never answers and one that trickles its
answer a byte at a time, for the deadline tests of the ACME and OCSP sides.

``SlowPeer(mode, answer=..., step=...)`` listens on 127.0.0.1 (optionally with TLS) in a thread
of the test process. Modes:

- ``SILENT``: accepts, reads the request, never answers (until stopped);
- ``DRIP``: sends ``answer`` one byte per step; ``step`` is called before every byte (a test
  passes ``SteppingClock().drip_step`` to have the client see a byte every 2 s of an injected
  clock without waiting, or ``pace=`` seconds where a client on the real clock is tested: the
  peer then waits on its stop event between two bytes, so that stopping it ends the wait);
- ``ANSWER``: sends ``answer`` at once and keeps the connection (a well-behaved peer);
- ``CLOSE_AFTER``: sends ``answer`` at once, then closes without saying so (no Connection:
  close): the client's next request on that kept-alive connection finds it closed;
- ``NO_TLS``: accepts the TCP connection of a TLS client and never starts the handshake.

``connections`` counts accepted connections, ``heads`` keeps the request heads read (bytes).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from mdcore.clock import FakeClock

from .loopback import LoopbackServer

SILENT = "silent"
DRIP = "drip"
ANSWER = "answer"
CLOSE_AFTER = "close-after"
NO_TLS = "no-tls"

OK_JSON = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
           b"Replay-Nonce: drip-nonce\r\n\r\n{}")


class SlowPeer(LoopbackServer):
    name = "slow-peer"

    def __init__(self, mode: str, answer: bytes = OK_JSON, step: Callable[[], None] | None = None,
                 tls: tuple[Path, Path] | None = None, pace: float | None = None) -> None:
        """``tls``: (certificate, key) files to serve https with (see peers/tlsutil.TestCA).
        ``pace``: seconds of real time between two bytes of DRIP (for a client on the real clock,
        another process), waited on the peer's stop event, so that closing the peer ends it."""
        super().__init__()
        self.mode = mode
        self.answer = answer
        self.step = step or ((lambda: self._stop.wait(pace)) if pace else (lambda: None))
        self.connections = 0
        self.heads: list[bytes] = []
        self._context = None
        if tls is not None:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(str(tls[0]), str(tls[1]))
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/", scheme: str | None = None) -> str:
        scheme = scheme or ("https" if self._context is not None else "http")
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def _stopping(self) -> None:
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.close()
            except OSError:
                pass

    # -- serving -------------------------------------------------------------------------------
    def _accepted(self, conn: socket.socket) -> None:
        self.connections += 1
        with self._lock:
            self._socks.append(conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.mode == NO_TLS:
                self._stop.wait(120)
                return
            if self._context is not None:
                conn.settimeout(10)
                conn = self._context.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._socks.append(conn)
            conn.settimeout(0.05)
            while not self._stop.is_set():
                if not self._read_head(conn):
                    return
                if self.mode == SILENT:
                    self._stop.wait(120)
                    return
                if self.mode in (ANSWER, CLOSE_AFTER):
                    conn.sendall(self.answer)
                    if self.mode == CLOSE_AFTER:
                        return
                    continue
                for i in range(len(self.answer)):
                    if self._stop.is_set():
                        return
                    self.step()
                    conn.sendall(self.answer[i:i + 1])
                return
        except (OSError, ssl.SSLError):
            return  # the client gave up and closed: what the tests want
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _read_head(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            if self._stop.is_set():
                return False
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except ssl.SSLWantReadError:
                continue
            if not chunk:
                return False
            data += chunk
        head, _sep, rest = data.partition(b"\r\n\r\n")
        self.heads.append(head)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _colon, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length and not self._stop.is_set():
            try:
                rest += conn.recv(65536)
            except TimeoutError:
                continue
        return True


class SteppingClock(FakeClock):
    """A FakeClock that tells a dripping peer when the client looked at the time again (it does
    before every read), so the peer sends its next byte "2 s later" in lockstep, without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()

    def monotonic(self) -> float:
        self.asked.set()
        return super().monotonic()

    def drip_step(self) -> None:
        self.asked.wait(1)
        self.asked.clear()
        self.advance(2)
