"""What every HTTP exchange of the engine returns, the one interface both sides talk through
(:class:`Transport`), and the one error type of the network layer (:class:`HttpFailure`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import Deadline
from ..errors import DeadlineExceeded, MdError, NetworkError


class Headers(dict):
    """Response headers under lower-case names; ``get``, ``[]`` and ``in`` take any case."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> Any:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Headers
    body: bytes
    url: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        """The body as JSON (ValueError when it is none)."""
        return json.loads(self.body)

    def text(self, limit: int = 200) -> str:
        return self.body[:limit].decode("utf-8", "replace")


@dataclass(frozen=True)
class Request:
    """One request of a batch (:meth:`Transport.exchange_all`)."""

    method: str
    url: str
    body: bytes | None = None
    headers: dict | None = None


More = Callable[[], Sequence[Request]]  # further requests of a batch, [] when there are none


class Transport:
    """One HTTP exchange that ends before ``deadline``: the interface of the ACME side
    (acme/transport.py) and of stapling (ocsp/fetch.py). :class:`~.client.HttpClient` is the one
    implementation that talks to the network; tests inject their own."""

    def exchange(self, method: str, url: str, body: bytes | None, deadline: Deadline,
                 headers: dict | None = None) -> HttpReply:
        raise NotImplementedError

    def exchange_all(self, requests: Sequence[Request], parallel: int, start: Callable[[], Deadline],
                     more: More | None = None) -> Iterator[tuple[int, HttpReply | MdError]]:
        """Every request, at most ``parallel`` at a time; yields (index, reply or the MdError of
        that exchange) as each one ends, in the caller's thread. ``start()`` gives an exchange
        its deadline when it begins (or raises the MdError that it is not to begin). ``more()``
        (optional, called in the caller's thread) gives further requests once every request
        given so far has begun (an empty list: none left); their indices follow on. This one
        runs :meth:`exchange` in a pool of threads, the requests of each ``more()`` after the
        ones before; HttpClient talks to plain-http peers from one thread (net/multiplex.py),
        asking ``more()`` whenever a place is free. Whatever is not an MdError (a bug,
        KeyboardInterrupt) is raised; exchanges not begun by then never begin."""
        offset = 0
        while True:
            yield from ((offset + index, outcome) for index, outcome in self._batch(requests, parallel, start))
            offset += len(requests)
            requests = more() if more is not None else []
            if not requests:
                return

    def _batch(self, requests: Sequence[Request], parallel: int,
               start: Callable[[], Deadline]) -> Iterator[tuple[int, HttpReply | MdError]]:
        if parallel <= 1 or len(requests) <= 1:
            for index, request in enumerate(requests):
                yield index, self._one(request, start)
            return
        from concurrent.futures import ThreadPoolExecutor, as_completed  # only where threads are used

        pool = ThreadPoolExecutor(max_workers=min(parallel, len(requests)), thread_name_prefix="mdfleet-http")
        try:
            futures = {pool.submit(self._one, request, start): index for index, request in enumerate(requests)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, request: Request, start: Callable[[], Deadline]) -> HttpReply | MdError:
        try:
            return self.exchange(request.method, request.url, request.body, start(), request.headers)
        except MdError as exc:
            return exc

    def close(self) -> None:
        pass


class HttpFailure(NetworkError):
    """An exchange that produced no complete answer. ``kind`` says why (the constants below),
    ``reason`` is the short cause ("Connection refused"); each side words its own message
    from them (acme/transport.py, ocsp/fetch.py)."""

    BAD_URL = "bad-url"
    UNREACHABLE = "unreachable"
    TLS = "tls"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    TOO_LARGE = "too-large"
    PROTOCOL = "protocol"
    PROXY = "proxy"

    def __init__(self, kind: str, url: str, reason: str, *, seconds: float | None = None,
                 received: int = 0) -> None:
        self.kind, self.url, self.reason = kind, url, reason
        self.seconds, self.received = seconds, received
        super().__init__("%s: %s" % (url, reason))


class HttpTimeout(HttpFailure, DeadlineExceeded):
    """The deadline passed before the answer was complete (``received`` bytes had arrived)."""

    def __init__(self, url: str, seconds: float, received: int) -> None:
        super().__init__(self.TIMEOUT, url, slow_reason(seconds, received), seconds=seconds, received=received)


def slow_reason(seconds: float, received: int) -> str:
    if not received:
        return "no answer within %gs" % seconds
    return "answer not complete within %gs (%d bytes arrived: the peer sends too slowly)" % (seconds, received)


__all__ = ["Headers", "HttpReply", "More", "Request", "Transport", "HttpFailure", "HttpTimeout"]
