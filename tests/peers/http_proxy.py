"""A small HTTP proxy on 127.0.0.1 for the client's proxy tests: CONNECT tunnels (https through
the proxy) and absolute-form requests (http through the proxy), forwarded to loopback targets only.

``seen`` keeps (method, target, Proxy-Authorization or None) per request; ``require_auth`` makes
it answer 407 to requests without that Proxy-Authorization value.
"""

from __future__ import annotations

import select
import socket
import urllib.parse

from .loopback import LoopbackServer


class HttpProxy(LoopbackServer):
    name = "http-proxy"

    def __init__(self, require_auth: str | None = None) -> None:
        super().__init__()
        self.require_auth = require_auth
        self.seen: list[tuple[str, str, str | None]] = []
        self.url = "http://127.0.0.1:%d" % self.port

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _sep, rest = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _colon, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            auth = headers.get("proxy-authorization")
            self.seen.append((method, target, auth))
            if self.require_auth is not None and auth != self.require_auth:
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            if method == "CONNECT":
                host, _colon, port = target.rpartition(":")
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(conn, upstream, rest)
                return
            parts = urllib.parse.urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
            path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            kept = [line for line in lines[1:] if not line.lower().startswith(("proxy-", "connection"))]
            request = "\r\n".join(["%s %s HTTP/1.1" % (method, path), *kept, "Connection: close"]) + "\r\n\r\n"
            self._pipe(conn, upstream, request.encode("latin-1") + rest)
        except OSError:
            return
        finally:
            conn.close()

    def _pipe(self, client: socket.socket, upstream: socket.socket, first: bytes) -> None:
        with upstream:
            if first:
                upstream.sendall(first)
            while not self._stop.is_set():
                ready, _w, _x = select.select([client, upstream], [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
