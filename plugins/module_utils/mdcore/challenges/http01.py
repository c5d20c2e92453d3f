"""http-01: tokens as files in the challenges folder (the web server serves it), or a standalone
listener for hosts without a web server."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
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
            # Not fsynced: the token is read from the page cache while the CA validates, and a run
            # after a power cut makes new challenges (each order cost an fsync pair more).
            atomic_write(os.path.join(self.folder, _check_token(task.token)), task.key_authorization.encode(),
                         0o644, durable=False)
        except OSError as exc:
            raise ChallengeError("cannot write http-01 token into %s: %s" % (self.folder, exc.strerror)) from None

    def teardown(self, task: ChallengeTask) -> None:
        try:
            os.unlink(os.path.join(self.folder, _check_token(task.token)))
        except FileNotFoundError:
            pass


POLL_INTERVAL = 0.01  # seconds between serve_forever's looks at a shutdown request
# After the last fetch of a token, this long without another one before the validation counts as
# done: the vantage points of one validation fetch within milliseconds of each other (pebble's
# three at once; Let's Encrypt's primary and remote perspectives).
FETCHES_SETTLE = 0.005


class _Fetches:
    """When the answer of one token was last fetched (time.monotonic), and a condition to wait on."""

    __slots__ = ("cond", "last")

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.last: float | None = None


class FetchWatch:
    """The fetches of one token, as an order waits for them (Solver.watch)."""

    def __init__(self, entry: _Fetches) -> None:
        self.entry = entry
        self.seen: float | None = None  # the last fetch reported

    def wait(self, seconds: float) -> bool:
        """Up to ``seconds``: until a fetch newer than the last one reported is FETCHES_SETTLE old
        (True), else False when the time is up."""
        entry = self.entry
        until = time.monotonic() + seconds
        with entry.cond:
            while True:
                now = time.monotonic()
                fresh = entry.last is not None and (self.seen is None or entry.last > self.seen)
                if fresh and now - entry.last >= FETCHES_SETTLE:
                    self.seen = entry.last
                    return True
                if now >= until:
                    return False
                entry.cond.wait(min(until, entry.last + FETCHES_SETTLE) - now if fresh else until - now)


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
        self.server.on_fetch(token)  # type: ignore[attr-defined]

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
        self.fetches: dict[str, _Fetches] = {}  # of the tokens added: when the CA fetched them
        self.relay: Callable[[str], None] | None = None  # every token fetched (orderfork: the order process)
        self.server.tokens = self.tokens  # type: ignore[attr-defined]
        self.server.thumbprint = None  # type: ignore[attr-defined]  # see answer_all
        self.server.on_fetch = self.note_fetched  # type: ignore[attr-defined]
        # shutdown() waits for serve_forever's next look at its flag: with 0.1 s the last order of a
        # run waited 50 ms on average for the listener to close
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                         daemon=True).start()

    def add(self, task: ChallengeTask) -> None:
        self.fetches[_check_token(task.token)] = _Fetches()
        self.tokens[task.token] = task.key_authorization

    def remove(self, task: ChallengeTask) -> None:
        self.tokens.pop(task.token, None)
        self.fetches.pop(task.token, None)

    def note_fetched(self, token: str) -> None:
        """The answer of ``token`` was served (by this listener, or by the run's for an order
        process: orderfork relays it)."""
        entry = self.fetches.get(token)
        if entry is not None:
            with entry.cond:
                entry.last = time.monotonic()
                entry.cond.notify_all()
        relay = self.relay
        if relay is not None:
            relay(token)

    def watch(self, token: str) -> FetchWatch | None:
        """Solver.watch for a token added here (None for another)."""
        entry = self.fetches.get(token)
        return FetchWatch(entry) if entry is not None else None

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

    def watch(self, task: ChallengeTask) -> FetchWatch | None:
        return self._listener.watch(task.token) if self._listener is not None else None
