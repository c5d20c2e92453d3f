"""Talking to responders: request/answer exchanges with a deadline each, through the engine's one
HTTP client (net/client.py), the same as the ACME side's: one at a time (:func:`fetch`) or a run's
whole batch (:func:`fetch_all`, at most ``workers`` at once, each answer handed to the caller as it
arrives).

:class:`DefaultTransport` is that client with stapling's settings (proxy, size cap) and the
messages operators read in status ("responder ocsp.example unreachable: Connection refused").
Tests inject their own :class:`Transport`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ..clock import Clock, Deadline
from ..errors import MdError, OcspError
from ..net import HttpClient, HttpFailure, HttpReply, Transport
from ..net.reply import More, Request
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

    def exchange_all(self, requests: Sequence[Request], parallel: int, start: Callable[[], Deadline],
                     more: More | None = None) -> Iterator[tuple[int, HttpReply | MdError]]:
        for index, outcome in self.client.exchange_all(requests, parallel, start, more):
            if isinstance(outcome, HttpFailure):
                outcome = OcspError(_message(outcome, self.max_bytes))
            yield index, outcome

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


def request_for(responder_url: str, request_der: bytes, config: StaplingConfig) -> Request:
    """The GET form of a request where it is short enough (and the method allows), else a POST."""
    url = None
    if config.method != FetchMethod.POST:
        url = get_url(responder_url, request_der)
        if url is None and config.method == FetchMethod.GET:
            raise OcspError("OCSP request too long for GET (configure method post or auto)")
    if url is not None:
        return Request("GET", url, None, _GET_HEADERS)
    return Request("POST", responder_url, request_der, _POST_HEADERS)


def answer_of(reply: HttpReply, responder_url: str) -> bytes:
    """The body of a 200 answer, or OcspError."""
    if reply.status != 200:
        raise OcspError("responder %s answered HTTP %d" % (url_host(responder_url), reply.status))
    if not reply.body:
        raise OcspError("responder %s answered with an empty body" % url_host(responder_url))
    return reply.body


def fetch(transport: Transport, responder_url: str, request_der: bytes, config: StaplingConfig,
          deadline: Deadline) -> bytes:
    """One exchange with the responder; returns the body of a 200 answer or raises OcspError."""
    request = request_for(responder_url, request_der, config)
    return answer_of(transport.exchange(request.method, request.url, request.body, deadline, request.headers),
                     responder_url)


def fetch_all(transport: Transport, asks: Sequence[tuple[str, Request]], config: StaplingConfig, clock: Clock,
              run: Deadline | None = None,
              more: Callable[[], Sequence[tuple[str, Request]]] | None = None) -> Iterator[tuple[int, bytes | MdError]]:
    """``asks``: (responder URL, request) pairs. Yields (index, the answer's body or the MdError
    why there is none) as each exchange ends, ``config.workers`` at a time. Each exchange gets
    ``config.timeout`` from its start, within what is left of the run's deadline ``run``; once
    that is used up, the rest are not asked. ``more()``: further pairs, asked for when every
    pair so far has begun and a place is free ([]: none left); their indices follow on."""

    def start() -> Deadline:
        if run is None:
            return Deadline(clock, config.timeout)
        if run.expired():
            raise OcspError("not asked: the run's time (run_timeout) was used up before this exchange")
        return run.within(config.timeout)

    urls = [url for url, _request in asks]
    requests = [request for _url, request in asks]
    feed = None
    if more is not None:
        def feed() -> list[Request]:
            added = more()
            urls.extend(url for url, _request in added)
            return [request for _url, request in added]

    for index, outcome in transport.exchange_all(requests, config.workers, start, feed) if feed else \
            transport.exchange_all(requests, config.workers, start):
        if isinstance(outcome, HttpReply):
            try:
                outcome = answer_of(outcome, urls[index])
            except OcspError as exc:
                outcome = exc
        yield index, outcome


__all__ = ["DefaultTransport", "HttpReply", "Transport", "fetch", "fetch_all", "request_for", "answer_of",
           "OCSP_REQUEST_TYPE", "OCSP_RESPONSE_TYPE"]
