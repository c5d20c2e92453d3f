"""Talking to responders: one request/answer exchange with a deadline, through the engine's one
HTTP client (net/client.py), the same as the ACME side's.

:class:`DefaultTransport` is that client with stapling's settings (proxy, size cap) and the
messages operators read in status ("responder ocsp.example unreachable: Connection refused").
Tests inject their own :class:`Transport`.
"""

from __future__ import annotations

from ..clock import Deadline
from ..errors import OcspError
from ..net import HttpClient, HttpFailure, HttpReply, Transport
from .config import FetchMethod, StaplingConfig
from .request import get_url

OCSP_REQUEST_TYPE = "application/ocsp-request"
OCSP_RESPONSE_TYPE = "application/ocsp-response"
_GET_HEADERS = {"Accept": OCSP_RESPONSE_TYPE}
_POST_HEADERS = {"Accept": OCSP_RESPONSE_TYPE, "Content-Type": OCSP_REQUEST_TYPE}


class DefaultTransport(Transport):
    """The HTTP client for one stapling run, shared by its exchange threads: keep-alive
    connections per responder, the configured proxy (else the environment's), a size cap."""

    def __init__(self, proxy: str | None = None, max_bytes: int = 256 * 1024) -> None:
        self.max_bytes = max_bytes
        self.client = HttpClient(proxy=proxy, max_bytes=max_bytes)

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline,
                 headers: dict | None = None) -> HttpReply:
        try:
            return self.client.exchange(method, url, body, deadline,
                                        headers or (_POST_HEADERS if body is not None else _GET_HEADERS))
        except HttpFailure as exc:
            raise OcspError(_message(exc, self.max_bytes)) from None

    def close(self) -> None:
        self.client.close()


def _message(exc: HttpFailure, max_bytes: int) -> str:
    host = url_host(exc.url)
    if exc.kind == HttpFailure.TIMEOUT:
        if exc.received:
            return "responder %s did not finish its answer within %gs" % (host, exc.seconds)
        return "responder %s did not answer within %gs" % (host, exc.seconds)
    if exc.kind == HttpFailure.TOO_LARGE:
        return "responder %s sent more than %d bytes" % (host, max_bytes)
    if exc.kind == HttpFailure.BAD_URL:
        return "responder URL %s is not usable: %s" % (exc.url, exc.reason)
    if exc.kind == HttpFailure.PROTOCOL:
        return "responder %s sent %s" % (host, exc.reason)
    if exc.kind == HttpFailure.CLOSED:
        return "responder %s closed the connection: %s" % (host, exc.reason)
    if exc.kind == HttpFailure.TLS:
        return "responder %s: TLS failure: %s" % (host, exc.reason)
    if exc.kind == HttpFailure.PROXY:
        return "responder %s: %s" % (host, exc.reason)
    return "responder %s unreachable: %s" % (host, exc.reason)


def url_host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0] or url


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


__all__ = ["DefaultTransport", "HttpReply", "Transport", "fetch", "OCSP_REQUEST_TYPE", "OCSP_RESPONSE_TYPE"]
