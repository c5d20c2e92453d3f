"""http-01: tokens as files in the challenges folder (the web server serves it), or a standalone
listener for hosts without a web server."""

from __future__ import annotations

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..errors import ChallengeError
from ..fsutil import atomic_write, ensure_dir
from .base import ChallengeTask, Solver
from .shared import SharedListeners, SharedListenerSolver

PREFIX = "/.well-known/acme-challenge/"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_token(token: str) -> str:
    # Tokens become file names: only base64url characters, as RFC 8555 8.3 demands.
    if not TOKEN_RE.match(token):
        raise ChallengeError("CA sent an invalid http-01 token %r" % token[:80])
    return token


class WebrootSolver(Solver):
    """Writes <challenges>/<token> (0644) for the web server's /.well-known/acme-challenge/."""

    challenge_type = "http-01"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def setup(self, task: ChallengeTask) -> None:
        try:
            ensure_dir(self.folder, 0o755)
            atomic_write(os.path.join(self.folder, _check_token(task.token)), task.key_authorization.encode(),
                         0o644)
        except OSError as exc:
            raise ChallengeError("cannot write http-01 token into %s: %s" % (self.folder, exc.strerror)) from None

    def teardown(self, task: ChallengeTask) -> None:
        try:
            os.unlink(os.path.join(self.folder, _check_token(task.token)))
        except FileNotFoundError:
            pass


POLL_INTERVAL = 0.01  # seconds between serve_forever's looks at a shutdown request


class _TokenHandler(BaseHTTPRequestHandler):
    server_version = "mdfleet-http01"

    def do_GET(self) -> None:  # http.server's naming
        tokens: dict = self.server.tokens  # type: ignore[attr-defined]
        body = None
        if self.path.startswith(PREFIX):
            token = self.path[len(PREFIX):]
            body = tokens.get(token)
            thumbprint = self.server.thumbprint  # type: ignore[attr-defined]
            if body is None and thumbprint and TOKEN_RE.match(token):
                body = "%s.%s" % (token, thumbprint)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class _ListenerServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5. A CA validates each challenge from several
    # vantage points at once (pebble 3, Let's Encrypt 5), so a few parallel orders overflow it:
    # the kernel drops the SYNs and the CA's connection only gets through on its 1 s SYN retry
    # (measured with pebble: 20 orders, 8 at a time, 1.9 s -> 0.6 s; TcpExtListenOverflows 0).
    request_queue_size = 128
    daemon_threads = True


class _HttpListener:
    """The HTTP server of one address:port and the tokens it answers."""

    def __init__(self, address: str, port: int) -> None:
        try:
            self.server = _ListenerServer((address, port), _TokenHandler)
        except OSError as exc:
            raise ChallengeError("cannot listen on %s:%d for http-01: %s" % (address, port, exc.strerror)) from None
        self.tokens: dict[str, str] = {}
        self.server.tokens = self.tokens  # type: ignore[attr-defined]
        self.server.thumbprint = None  # type: ignore[attr-defined]  # see answer_all
        # shutdown() waits for serve_forever's next look at its flag: with 0.1 s the last order of a
        # run waited 50 ms on average for the listener to close
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                         daemon=True).start()

    def add(self, task: ChallengeTask) -> None:
        self.tokens[_check_token(task.token)] = task.key_authorization

    def remove(self, task: ChallengeTask) -> None:
        self.tokens.pop(task.token, None)

    def answer_all(self, thumbprint: str | None) -> None:
        """Answer every well-formed token with its key authorization for the account key of
        ``thumbprint`` (None: only the tokens added), for orders of a forked order process
        (mdcore/orderfork.py). A key authorization is no secret: only an order of that account
        validates with it."""
        self.server.thumbprint = thumbprint  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


LISTENERS: SharedListeners[_HttpListener] = SharedListeners(_HttpListener, _HttpListener.close)


class StandaloneSolver(SharedListenerSolver):
    """Serves tokens itself on ``address:port`` while an order is validated."""

    challenge_type = "http-01"
    listeners = LISTENERS
    default_port = 80
