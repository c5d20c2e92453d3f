"""The HTTP side of the test OCSP responders (RFC 6960 A.1): a POST body or a base64 GET path in,
one answer out, from a ThreadingHTTPServer on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import base64
import threading
import urllib.parse
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# answer(request DER, request headers) -> (HTTP status, body), or None to hang up without answering
Answer = Callable[[bytes, Message], "tuple[int, bytes] | None"]


def serve(answer: Answer, port: int = 0, name: str = "ocsp-responder") -> ThreadingHTTPServer:
    """Start answering on 127.0.0.1:``port`` (0: any free port); stop with :func:`stop`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as most real responders do

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length))

        def do_GET(self) -> None:
            try:
                body = base64.b64decode(urllib.parse.unquote(self.path.lstrip("/")))
            except ValueError:
                body = b""
            self._answer(body)

        def _answer(self, body: bytes) -> None:
            reply = answer(body, self.headers)
            if reply is None:
                self.close_connection = True
                return
            status, payload = reply
            self.send_response(status)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


__all__ = ["serve", "stop", "Answer"]
