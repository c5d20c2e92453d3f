"""The engine's one HTTP client: ACME CAs and OCSP responders alike, http:// and https://, direct
or through an http:// proxy (CONNECT for https), keep-alive connections shared by threads.

Deadlines: an exchange has ONE deadline for everything it does — name lookup, connect, proxy
tunnel, TLS handshake, sending, and every byte of the answer (wire.py gives each recv() what is
left of it). A peer that trickles its answer ends at the deadline like one that never answers.

Session policy (the same for both sides, docs/architecture.md): one client per peer setting
(an ACME CA: directory URL, CA bundle, proxy; stapling: one per run) shared by every worker
thread. Per origin (scheme://host:port) it keeps idle keep-alive connections; an exchange takes
one (checking the peer has not closed it) or opens a new one, and gives it back only after a
complete answer the peer did not ask to close. A connection is used by one thread at a time;
the idle lists are the only shared state, each under its own lock. A request that meets a
kept-alive connection the peer closed meanwhile is sent once more on a new connection.
"""

from __future__ import annotations

import select
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from .. import USER_AGENT
from ..clock import Deadline
from ..errors import MdError
from .proxy import Proxy, environment_proxy, parse_proxy
from .reply import Headers, HttpFailure, HttpReply, HttpTimeout, More, Request, Transport
from .wire import PeerClosed, ResponseReader, TooLarge, WireError, encode_request

if TYPE_CHECKING:  # ssl (and tls.py) are imported for the first https origin: plain-http runs never load them
    import ssl

DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # certificate chains and orders are a few KB
MAX_IDLE = 16  # idle connections kept per origin
RESOLVE_TTL = 300.0  # seconds a name lookup is reused
INVALID_URL = "invalid URL (not http:// or https://)"


class _Origin:
    """scheme://host:port of a URL, parsed once, with its route and its idle connections."""

    def __init__(self, scheme: str, netloc: str, proxy: Proxy | None) -> None:
        parts = urllib.parse.urlsplit("%s://%s" % (scheme, netloc))
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.username is not None:
            raise ValueError("no usable host:port")
        self.scheme, self.netloc, self.host, self.port = scheme, netloc, parts.hostname, port
        self.tls = scheme == "https"
        self.proxy = proxy
        self.lock = threading.Lock()
        self.idle: list[_Conn] = []
        self.tls_session: ssl.SSLSession | None = None
        self.addresses: list | None = None
        self.resolved_at = 0.0

    @property
    def connect_to(self) -> tuple[str, int]:
        return (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)

    def take(self) -> _Conn | None:
        while True:
            with self.lock:
                if not self.idle:
                    return None
                conn = self.idle.pop()
            if conn.alive():
                return conn
            conn.close()

    def give(self, conn: _Conn) -> None:
        if self.tls and self.tls_session is None:
            self.tls_session = getattr(conn.sock, "session", None)
        with self.lock:
            if len(self.idle) < MAX_IDLE:
                self.idle.append(conn)
                return
        conn.close()


class _Conn:
    def __init__(self, sock: socket.socket, on_close: Callable[[_Conn], None]) -> None:
        self.sock = sock
        self.reader = ResponseReader(sock)
        self._on_close = on_close

    def alive(self) -> bool:
        """An idle connection is fit for reuse unless the peer closed it or sent something
        unasked (a late TLS 1.3 session ticket is no data: that one stays usable)."""
        if self.reader.buffer:
            return False
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            if not poller.poll(0):
                return True
            self.sock.setblocking(False)
            try:
                self.sock.recv(1)  # end of file, or bytes nobody asked for: unusable either way
            except OSError as exc:  # nothing to read (a waiting TLS session ticket is no data either)
                return isinstance(exc, BlockingIOError) or _is_ssl(exc, "SSLWantReadError")
            return False
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        self._on_close(self)
        try:
            self.sock.close()
        except OSError:
            pass


class HttpClient(Transport):
    """``verify``: True (system trust store), a CA bundle path, or False. ``proxy``: an http://
    proxy for every origin; None reads the environment once per origin unless ``trust_env`` is
    off. ``max_bytes`` caps every answer's body."""

    def __init__(self, *, verify: bool | str = True, proxy: str | None = None, trust_env: bool = True,
                 user_agent: str = USER_AGENT, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.verify = verify
        self.proxy = parse_proxy(proxy) if proxy else None
        self.trust_env = trust_env
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self._origins: dict[str, _Origin] = {}
        self._open: set[_Conn] = set()
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------
    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline,
                 headers: dict | None = None, max_bytes: int | None = None) -> HttpReply:
        origin, target = self._origin(url)
        request = self._encode(origin, method, target, url, body, headers)
        limit = self.max_bytes if max_bytes is None else max_bytes
        conn = origin.take()
        while True:
            reused = conn is not None
            try:
                if conn is None:
                    conn = self._connect(origin, url, deadline)
                _send(conn.sock, request, deadline)
                answer = conn.reader.read(deadline, limit, head_only=method == "HEAD")
            except (PeerClosed, ConnectionResetError, BrokenPipeError) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                if reused and not deadline.expired():
                    continue  # the peer closed a kept-alive connection: once more on a new one
                raise HttpFailure(HttpFailure.CLOSED, url, "the peer closed the connection (%s)"
                                  % (exc.strerror or exc if isinstance(exc, OSError) else exc)) from None
            except BaseException as exc:
                received = conn.reader.received if conn is not None else 0
                if conn is not None:
                    conn.close()
                raise _failure(exc, url, deadline, received) from None
            if answer.keep_alive:
                origin.give(conn)
            else:
                conn.close()
            return HttpReply(answer.status, Headers(answer.headers), answer.body, url)

    def exchange_all(self, requests: Sequence[Request], parallel: int, start: Callable[[], Deadline],
                     more: More | None = None) -> Iterator[tuple[int, HttpReply | MdError]]:
        """Transport.exchange_all: plain http:// batches (OCSP responders) from this thread
        through non-blocking sockets (multiplex.py: threads would cost more CPU than the
        exchanges), anything with TLS through the pool of threads. Requests from ``more()``
        join a plain batch (the caller gives only http:// ones there: others fail as BAD_URL)."""
        if all(isinstance(r.url, str) and r.url.startswith("http://") for r in requests):
            from .multiplex import exchange_plain

            return exchange_plain(self, requests, parallel, start, more)
        return super().exchange_all(requests, parallel, start, more)

    def route(self, url: str) -> str | None:
        """The proxy ``url`` is reached through (without its password), or None: direct."""
        proxy = self._origin(url)[0].proxy
        return proxy.url if proxy else None

    def close(self) -> None:
        with self._lock:
            conns, self._open = list(self._open), set()
            origins = list(self._origins.values())
        for origin in origins:
            with origin.lock:
                origin.idle.clear()
        for conn in conns:
            try:
                conn.sock.close()
            except OSError:
                pass

    # -- pieces ------------------------------------------------------------------------------
    def _origin(self, url: str) -> tuple[_Origin, str]:
        if not isinstance(url, str):  # a hostile peer's document may hold anything
            raise HttpFailure(HttpFailure.BAD_URL, repr(url), INVALID_URL)
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise HttpFailure(HttpFailure.BAD_URL, url, INVALID_URL)
        rest = rest.split("#", 1)[0]
        cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
        netloc, target = rest[:cut], rest[cut:]
        key = scheme + "://" + netloc
        origin = self._origins.get(key)
        if origin is None:
            proxy = self.proxy
            if proxy is None and self.trust_env:
                found = environment_proxy(scheme, netloc)
                proxy = parse_proxy(found) if found else None
            try:
                origin = _Origin(scheme, netloc, proxy)
            except ValueError as exc:
                raise HttpFailure(HttpFailure.BAD_URL, url, str(exc)) from None
            with self._lock:
                origin = self._origins.setdefault(key, origin)
        return origin, target if target.startswith("/") else "/" + target

    def _encode(self, origin: _Origin, method: str, target: str, url: str, body: bytes | None,
                headers: dict | None) -> bytes:
        head = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        if headers:
            head.update(headers)
        if origin.proxy is not None and not origin.tls:  # plain http through a proxy: absolute form
            target = url.split("#", 1)[0]
            if origin.proxy.authorization:
                head["Proxy-Authorization"] = origin.proxy.authorization
        return encode_request(method, target, origin.netloc, head, body)

    def _connect(self, origin: _Origin, url: str, deadline: Deadline) -> _Conn:
        host, port = origin.connect_to
        last: OSError | None = None
        for family, kind, proto, _name, address in self._addresses(origin, host, port, deadline):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_left(deadline))
                sock.connect(address)
            except OSError as exc:
                sock.close()
                if isinstance(exc, TimeoutError):
                    raise
                last = exc
                continue
            conn = self._new_conn(sock)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if origin.proxy is not None and origin.tls:
                    _tunnel(conn, origin, url, deadline)
                if origin.tls:
                    conn.sock = _handshake(sock, origin, self.verify, deadline)
                    conn.reader = ResponseReader(conn.sock)
            except BaseException:
                conn.close()
                raise
            return conn
        raise last or OSError("no address for %s" % host)

    def _addresses(self, origin: _Origin, host: str, port: int, deadline: Deadline) -> list:
        now = deadline.clock.monotonic()
        if origin.addresses is None or now - origin.resolved_at > RESOLVE_TTL:
            origin.addresses = _resolve(host, port, deadline)
            origin.resolved_at = now
        return origin.addresses

    def _new_conn(self, sock: socket.socket) -> _Conn:
        conn = _Conn(sock, self._forget)
        with self._lock:
            self._open.add(conn)
        return conn

    @staticmethod
    def _as_failure(exc: BaseException, url: str, deadline: Deadline, received: int) -> BaseException:
        return _failure(exc, url, deadline, received)

    def _forget(self, conn: _Conn) -> None:
        with self._lock:
            self._open.discard(conn)


def _left(deadline: Deadline) -> float:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise TimeoutError()
    return remaining


def _send(sock: socket.socket, data: bytes, deadline: Deadline) -> None:
    sock.settimeout(_left(deadline))
    sock.sendall(data)


def _resolve(host: str, port: int, deadline: Deadline) -> list:
    """getaddrinfo within the deadline: numeric addresses at once, names in a helper thread
    (the C resolver has no timeout of its own but resolv.conf's)."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    found: dict = {}

    def lookup() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=lookup, name="mdfleet-resolve", daemon=True)
    worker.start()
    worker.join(_left(deadline))
    if worker.is_alive():
        raise TimeoutError()
    if "error" in found:
        raise found["error"]
    return found["addresses"]


def _tunnel(conn: _Conn, origin: _Origin, url: str, deadline: Deadline) -> None:
    """CONNECT host:port through the proxy, for TLS to the origin inside the tunnel."""
    proxy = origin.proxy
    if proxy is None:
        raise HttpFailure(HttpFailure.PROXY, url, "no proxy to tunnel through")
    target = "[%s]:%d" % (origin.host, origin.port) if ":" in origin.host else "%s:%d" % (origin.host, origin.port)
    head = {"User-Agent": USER_AGENT}
    if proxy.authorization:
        head["Proxy-Authorization"] = proxy.authorization
    _send(conn.sock, encode_request("CONNECT", target, target, head, None), deadline)
    answer = conn.reader.read(deadline, 0, head_only=True)
    if not 200 <= answer.status < 300:
        raise HttpFailure(HttpFailure.PROXY, url, "proxy %s answered HTTP %d to CONNECT %s"
                          % (proxy.url, answer.status, target))
    if conn.reader.buffer:
        raise HttpFailure(HttpFailure.PROXY, url, "proxy %s sent data before the TLS handshake" % proxy.url)


def _handshake(sock: socket.socket, origin: _Origin, verify: bool | str, deadline: Deadline) -> ssl.SSLSocket:
    from .tls import context_for

    context = context_for(verify)
    sock.settimeout(_left(deadline))  # the ssl module bounds the whole handshake by it
    return context.wrap_socket(sock, server_hostname=origin.host, session=origin.tls_session)


def _failure(exc: BaseException, url: str, deadline: Deadline, received: int) -> BaseException:
    """Any exception of one exchange as an HttpFailure (others, like a ConfigError, as they are)."""
    if isinstance(exc, HttpFailure):
        return exc
    if isinstance(exc, TimeoutError):
        return HttpTimeout(url, deadline.seconds, received)
    if isinstance(exc, TooLarge):
        return HttpFailure(HttpFailure.TOO_LARGE, url, "answer larger than the limit (%s)" % exc)
    if isinstance(exc, WireError):
        return HttpFailure(HttpFailure.PROTOCOL, url, "no valid HTTP answer: %s" % exc)
    if _is_ssl(exc, "SSLError"):
        from .tls import verify_reason

        return HttpFailure(HttpFailure.TLS, url, verify_reason(exc))
    if isinstance(exc, socket.gaierror):
        return HttpFailure(HttpFailure.UNREACHABLE, url, "name lookup failed: %s" % (exc.strerror or exc))
    if isinstance(exc, OSError):
        return HttpFailure(HttpFailure.UNREACHABLE, url, exc.strerror or str(exc) or exc.__class__.__name__)
    return exc


def _is_ssl(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is the ssl module's exception ``name``: without the module loaded (no
    https origin yet) nothing can have raised one."""
    module = sys.modules.get("ssl")
    return module is not None and isinstance(exc, getattr(module, name))


__all__ = ["HttpClient", "DEFAULT_MAX_BYTES"]
