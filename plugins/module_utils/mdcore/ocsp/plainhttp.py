"""A lean transport for what OCSP responders almost always are: plain http:// without a proxy.

One socket per responder and thread, kept alive where the responder allows it, and HTTP spoken by
:mod:`httpwire` (not http.client, whose header parsing was a quarter of the engine's CPU per
certificate; requests costs three times as much again). Responder addresses are resolved once per
run. Everything else (https://, a proxy from the configuration or the environment) goes through
:class:`RequestsTransport`; :class:`DefaultTransport` picks per URL.
"""

from __future__ import annotations

import socket
import threading
import urllib.parse

from .. import USER_AGENT
from ..clock import Deadline
from ..errors import OcspError
from .fetch import OCSP_REQUEST_TYPE, OCSP_RESPONSE_TYPE, HttpReply, RequestsTransport, Transport, url_host
from .httpwire import PeerClosed, ResponseReader, TooLarge, WireError, encode_request

_GET_HEADERS = {"Accept": OCSP_RESPONSE_TYPE, "User-Agent": USER_AGENT}
_POST_HEADERS = dict(_GET_HEADERS, **{"Content-Type": OCSP_REQUEST_TYPE})


class _Origin:
    """host:port of a responder, parsed once: the Host header and where to connect."""

    def __init__(self, netloc: str) -> None:
        parts = urllib.parse.urlsplit("http://" + netloc)
        try:
            port = parts.port or 80
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.username is not None:
            raise OcspError("not a plain http:// responder URL: http://%s/" % netloc)
        self.host, self.port, self.netloc = parts.hostname, port, netloc
        self.addresses: list | None = None  # getaddrinfo, once per run


class PlainHttpTransport(Transport):
    """http:// only, no proxy. Deadline: every connect, send and receive gets what is left of it."""

    def __init__(self, max_bytes: int = 256 * 1024) -> None:
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._origins: dict[str, _Origin] = {}
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def _origin(self, url: str) -> tuple[_Origin, str]:
        if not url.startswith("http://"):
            raise OcspError("not a plain http:// responder URL: %s" % url)
        rest = url[len("http://"):].split("#", 1)[0]
        cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
        netloc, target = rest[:cut], rest[cut:]
        origin = self._origins.get(netloc)
        if origin is None:
            origin = self._origins[netloc] = _Origin(netloc)
        return origin, target if target.startswith("/") else "/" + target

    def _connect(self, origin: _Origin, deadline: Deadline) -> ResponseReader:
        if origin.addresses is None:
            origin.addresses = socket.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
        last: OSError | None = None
        for family, kind, proto, _name, address in origin.addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(max(0.001, deadline.remaining()))
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            with self._lock:
                self._open.add(sock)
            return ResponseReader(sock)
        raise last or OSError("no address for %s" % origin.host)

    def _drop(self, reader: ResponseReader | None) -> None:
        if reader is None:
            return
        with self._lock:
            self._open.discard(reader.sock)
        reader.sock.close()

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline) -> HttpReply:
        origin, target = self._origin(url)
        request = encode_request(method, target, origin.netloc, _POST_HEADERS if body is not None else _GET_HEADERS,
                                 body)
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        reader = pool.pop(origin.netloc, None)
        while True:
            reused = reader is not None
            try:
                if reader is None:
                    reader = self._connect(origin, deadline)
                reader.sock.settimeout(max(0.001, deadline.remaining()))
                reader.sock.sendall(request)
                response = reader.read(deadline, self.max_bytes, head_only=method == "HEAD")
            except (PeerClosed, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(reader)
                reader = None
                if reused and not deadline.expired():
                    continue  # the responder closed a kept-alive connection: once more on a new one
                raise OcspError("responder %s closed the connection: %s" % (url_host(url), exc)) from None
            except TimeoutError:
                self._drop(reader)
                raise OcspError("responder %s did not answer within %gs"
                                % (url_host(url), deadline.seconds)) from None
            except TooLarge:
                self._drop(reader)
                raise OcspError("responder %s sent more than %d bytes" % (url_host(url), self.max_bytes)) from None
            except WireError as exc:
                self._drop(reader)
                raise OcspError("responder %s sent no valid HTTP answer: %s" % (url_host(url), exc)) from None
            except OSError as exc:
                self._drop(reader)
                raise OcspError("responder %s unreachable: %s" % (url_host(url), exc.strerror or exc)) from None
            if response.keep_alive:
                pool[origin.netloc] = reader
            else:
                self._drop(reader)
            return HttpReply(response.status, response.headers.get("content-type", ""), response.body)

    def close(self) -> None:
        with self._lock:
            socks, self._open = self._open, set()
        for sock in socks:
            sock.close()


class DefaultTransport(Transport):
    """Plain http:// without a proxy through :class:`PlainHttpTransport`, the rest through
    :class:`RequestsTransport` (https, configured proxy, http_proxy/no_proxy environment)."""

    def __init__(self, proxy: str | None = None, max_bytes: int = 256 * 1024) -> None:
        self.plain = PlainHttpTransport(max_bytes)
        self.full = RequestsTransport(proxy, max_bytes)
        self._direct: dict[str, bool] = {}

    def _plain_ok(self, url: str) -> bool:
        key = "/".join(url.split("/", 3)[:3])
        found = self._direct.get(key)
        if found is None:
            found = self._direct[key] = url.startswith("http://") and not self.full.proxies_for(url)
        return found

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline) -> HttpReply:
        transport = self.plain if self._plain_ok(url) else self.full
        return transport.exchange(method, url, body, deadline)

    def close(self) -> None:
        self.plain.close()
        self.full.close()


__all__ = ["PlainHttpTransport", "DefaultTransport"]
