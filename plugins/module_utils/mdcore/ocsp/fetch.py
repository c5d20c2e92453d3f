"""Talking to responders: an injectable HTTP transport and one request/answer exchange with a deadline.

:class:`RequestsTransport` keeps one requests.Session per thread (keep-alive where the responder
allows it) and reads the body in chunks so a slow or hanging responder cannot outlast the deadline.
plainhttp.DefaultTransport uses it for https and proxies, and http.client for plain http. Tests
inject their own :class:`Transport`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

try:
    import requests
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .. import USER_AGENT
from ..clock import Deadline
from ..errors import OcspError
from .config import FetchMethod, StaplingConfig
from .request import get_url

OCSP_REQUEST_TYPE = "application/ocsp-request"
OCSP_RESPONSE_TYPE = "application/ocsp-response"


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes


class Transport:
    """What the engine needs from HTTP: one exchange that ends before ``deadline``."""

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline) -> HttpReply:
        raise NotImplementedError

    def close(self) -> None:
        pass


class RequestsTransport(Transport):
    """requests-based transport: a Session per thread, an optional proxy, a size cap."""

    CHUNK = 16 * 1024

    def __init__(self, proxy: str | None = None, max_bytes: int = 256 * 1024) -> None:
        self.proxy = proxy
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._env_proxies: dict[str, dict] = {}  # per scheme://host, read from the environment once

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # proxies come from _proxies(): no per-request environment reads
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def proxies_for(self, url: str) -> dict:
        """The configured proxy, else what http_proxy/https_proxy/no_proxy say for this host."""
        if self.proxy:
            return {"http": self.proxy, "https": self.proxy}
        key = "/".join(url.split("/", 3)[:3])  # scheme://host:port
        found = self._env_proxies.get(key)
        if found is None:
            found = self._env_proxies[key] = requests.utils.get_environ_proxies(url)
        return found

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline) -> HttpReply:
        session = self._session()
        headers = {"Accept": OCSP_RESPONSE_TYPE, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = OCSP_REQUEST_TYPE
        timeout = max(0.001, deadline.remaining())
        try:
            # send() of a prepared request: Session.request's cookie/auth/hook merging is not needed
            prepared = requests.Request(method, url, data=body, headers=headers).prepare()
            with session.send(prepared, timeout=(timeout, timeout), stream=True, allow_redirects=False,
                              proxies=self.proxies_for(url)) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_content(self.CHUNK):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise OcspError("responder %s sent more than %d bytes"
                                        % (url_host(url), self.max_bytes))
                    if deadline.expired():
                        raise OcspError("responder %s did not finish its answer within %gs"
                                        % (url_host(url), deadline.seconds))
                return HttpReply(resp.status_code, resp.headers.get("Content-Type", ""), b"".join(chunks))
        except requests.exceptions.Timeout:
            raise _too_slow(url, deadline) from None
        except requests.exceptions.RequestException as exc:
            if deadline.expired() or "timed out" in str(exc):
                raise _too_slow(url, deadline) from None
            raise OcspError("responder %s unreachable: %s" % (url_host(url), _short(exc))) from None

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def _too_slow(url: str, deadline: Deadline) -> OcspError:
    return OcspError("responder %s did not answer within %gs" % (url_host(url), deadline.seconds))


def url_host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0] or url


def _short(exc: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without the long wrapper chain."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Connection reset", "Remote end closed connection", "timed out"):
        if marker in text:
            return marker.lower()
    return text[:200]


def fetch(transport: Transport, responder_url: str, request_der: bytes, config: StaplingConfig,
          deadline: Deadline) -> bytes:
    """One exchange with the responder; returns the body of a 200 answer or raises OcspError."""
    url = None
    if config.method != FetchMethod.POST:
        url = get_url(responder_url, request_der)
        if url is None and config.method == FetchMethod.GET:
            raise OcspError("OCSP request too long for GET (configure method post or auto)")
    if url is not None:
        reply = transport.exchange("GET", url, None, deadline)
    else:
        reply = transport.exchange("POST", responder_url, request_der, deadline)
    if reply.status != 200:
        raise OcspError("responder %s answered HTTP %d" % (url_host(responder_url), reply.status))
    if not reply.body:
        raise OcspError("responder %s answered with an empty body" % url_host(responder_url))
    return reply.body


__all__ = ["HttpReply", "Transport", "RequestsTransport", "fetch", "OCSP_REQUEST_TYPE", "OCSP_RESPONSE_TYPE"]
