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


class _TokenHandler(BaseHTTPRequestHandler):
    server_version = "mdfleet-http01"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        tokens: dict = self.server.tokens  # type: ignore[attr-defined]
        body = None
        if self.path.startswith(PREFIX):
            body = tokens.get(self.path[len(PREFIX):])
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


class StandaloneSolver(Solver):
    """Serves tokens itself on ``address:port`` while an order is validated."""

    challenge_type = "http-01"

    def __init__(self, address: str = "0.0.0.0", port: int = 80) -> None:
        self.address = address
        self.port = port
        self.tokens: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            try:
                server = ThreadingHTTPServer((self.address, self.port), _TokenHandler)
            except OSError as exc:
                raise ChallengeError("cannot listen on %s:%d for http-01: %s"
                                     % (self.address, self.port, exc.strerror)) from None
            server.daemon_threads = True
            server.tokens = self.tokens  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
            self._server = server

    def setup(self, task: ChallengeTask) -> None:
        self._start()
        self.tokens[_check_token(task.token)] = task.key_authorization

    def teardown(self, task: ChallengeTask) -> None:
        self.tokens.pop(task.token, None)

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
