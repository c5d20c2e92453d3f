"""HTTP side of ACME: directory, nonce pool, signed POSTs, badNonce retry, Retry-After, deadlines.

Modelled on certbot's ClientNetwork: every response feeds the nonce pool, so a run needs one
newNonce request at most. One transport per CA is shared by every order of a run (issuance.py):
the directory is fetched once, the nonce pool and the HTTP client (net/client.py: keep-alive
connections) are thread-safe. Every exchange ends within min(request_timeout, what is left of
the order's deadline), the whole answer included; badNonce is retried until that deadline.
"""

from __future__ import annotations

import collections
import datetime
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import USER_AGENT
from ..clock import Clock, Deadline
from ..errors import DeadlineExceeded, MdError, NetworkError
from ..net import HttpClient, HttpFailure, HttpReply, HttpTimeout, Transport
from ..net.client import INVALID_URL
from .jws import AccountKey, sign_request
from .problems import BAD_NONCE, AcmeProblemError, Problem

JOSE = "application/jose+json"
PROBLEM = "application/problem+json"
# badNonce is retried until the order's deadline: at once twice, then after these pauses (a CA
# that rejects every nonce is asked every few seconds, not in a hot loop).
BAD_NONCE_PAUSES = (0.0, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
# A 503/429 asking us to come back within this many seconds is waited for; longer is an error.
MAX_INLINE_RETRY_AFTER = 10.0
BUSY_RETRIES = 3


@dataclass
class TransportOptions:
    verify: bool | str = True  # True, or the path of a CA bundle for the ACME server
    proxy: str | None = None
    request_timeout: float = 30.0
    user_agent: str = USER_AGENT


@dataclass
class AcmeResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive (net.Headers)
    body: Any  # parsed JSON, or bytes for certificates
    location: str | None
    links: dict  # rel -> [urls]


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # the HTTP-date form is rare: not imported at every start (10 ms)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" (RFC 5322's unknown zone) parses naive; HTTP dates are UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - clock.now()).total_seconds())


def parse_links(header: str | None) -> dict:
    links: dict = {}
    for part in (header or "").split(","):
        if ";" not in part:
            continue
        url_part, *params = part.split(";")
        url = url_part.strip().strip("<>")
        for param in params:
            key, _sep, val = param.strip().partition("=")
            if key.strip() == "rel":
                links.setdefault(val.strip().strip('"'), []).append(url)
    return links


class AcmeTransport:
    """One ACME server endpoint, safe to share between threads. ``http``: the HTTP client (tests
    inject a fake one); by default one of its own for ``options``."""

    def __init__(self, directory_url: str, clock: Clock, options: TransportOptions | None = None,
                 http: Transport | None = None) -> None:
        self.directory_url = directory_url
        self.clock = clock
        self.options = options or TransportOptions()
        self.http = http or HttpClient(verify=self.options.verify, proxy=self.options.proxy,
                                       user_agent=self.options.user_agent)
        self._nonces: collections.deque[str] = collections.deque()  # append/pop are atomic
        self._directory: dict | None = None
        self._directory_lock = threading.Lock()

    def fresh(self) -> AcmeTransport:
        """A transport to the same CA with the same options and directory, and HTTP
        connections and nonces of its own (for a forked process)."""
        other = AcmeTransport(self.directory_url, self.clock, self.options)
        other._directory = self._directory
        return other

    # -- plain HTTP -------------------------------------------------------------------------
    def _http(self, method: str, url: str, deadline: Deadline, body: bytes | None = None,
              headers: dict | None = None) -> HttpReply:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):  # from a CA's document
            raise NetworkError("cannot reach %s: %s" % (url, INVALID_URL))
        if deadline.expired():
            raise DeadlineExceeded("gave up on %s %s: the order's deadline passed" % (method, url))
        try:
            reply = self.http.exchange(method, url, body, deadline.within(self.options.request_timeout), headers)
        except HttpTimeout as exc:
            raise DeadlineExceeded("%s %s: %s" % (method, url, exc.reason)) from None
        except HttpFailure as exc:
            if exc.kind == HttpFailure.TLS:
                raise NetworkError("TLS failure talking to %s: %s" % (url, exc.reason)) from None
            raise NetworkError("cannot reach %s: %s" % (url, exc.reason)) from None
        nonce = reply.headers.get("replay-nonce")
        if nonce:
            self._nonces.append(nonce)
        return reply

    def directory(self, deadline: Deadline) -> dict:
        if self._directory is None:
            with self._directory_lock:  # one GET for every thread that needs it first
                if self._directory is None:
                    self._directory = self._fetch_directory(deadline)
        return self._directory

    def _fetch_directory(self, deadline: Deadline) -> dict:
        resp = self._http("GET", self.directory_url, deadline, headers={"Accept": "application/json"})
        if resp.status != 200:
            moved = resp.headers.get("location")
            raise NetworkError("ACME directory %s answered HTTP %d%s" % (
                self.directory_url, resp.status, " (Location: %s)" % moved if moved else ""))
        try:
            body = resp.json()
        except ValueError:
            raise NetworkError("ACME directory %s did not return JSON" % self.directory_url) from None
        if not isinstance(body, dict) or "newNonce" not in body or "newOrder" not in body:
            raise NetworkError("%s is not an ACME directory" % self.directory_url)
        return body

    def _nonce(self, deadline: Deadline) -> str:
        try:
            return self._nonces.pop()
        except IndexError:
            pass
        resp = self._http("HEAD", self.directory(deadline)["newNonce"], deadline)
        try:
            return self._nonces.pop()
        except IndexError:
            raise NetworkError("CA gave no Replay-Nonce (HTTP %d)" % resp.status) from None

    # -- signed requests --------------------------------------------------------------------
    def post(self, url: str, payload: Any, key: AccountKey, kid: str | None, deadline: Deadline,
             context: str, accept: str | None = None) -> AcmeResponse:
        """POST a JWS; retries badNonce (until the deadline) and short Retry-After; raises
        AcmeProblemError otherwise."""
        headers = {"Content-Type": JOSE}
        if accept:
            headers["Accept"] = accept
        rejected = busy = 0
        while True:
            body = sign_request(key, url, payload, self._nonce(deadline), kid)
            resp = self._http("POST", url, deadline, json.dumps(body, separators=(",", ":")).encode(), headers)
            if resp.status < 400:
                return self._response(resp)
            problem = self._problem(resp)
            retry_after = parse_retry_after(resp.headers.get("retry-after"), self.clock)
            if problem.type == BAD_NONCE:
                pause = BAD_NONCE_PAUSES[min(rejected, len(BAD_NONCE_PAUSES) - 1)]
                rejected += 1
                if pause < deadline.remaining():
                    self.clock.sleep(pause)
                    continue
                raise AcmeProblemError(problem, "%s (%d nonces rejected until the deadline)" % (context, rejected))
            busy += 1
            if resp.status in (429, 503) and retry_after is not None and busy <= BUSY_RETRIES \
                    and retry_after <= min(MAX_INLINE_RETRY_AFTER, deadline.remaining()):
                self.clock.sleep(retry_after)
                continue
            raise AcmeProblemError(problem, context, retry_after=retry_after)

    def post_as_get(self, url: str, key: AccountKey, kid: str, deadline: Deadline, context: str,
                    accept: str | None = None) -> AcmeResponse:
        return self.post(url, None, key, kid, deadline, context, accept=accept)

    def get(self, url: str, deadline: Deadline) -> HttpReply:
        """Unauthenticated GET (ARI renewalInfo)."""
        return self._http("GET", url, deadline)

    @staticmethod
    def _problem(resp: HttpReply) -> Problem:
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("type"):
            return Problem.from_json(doc, resp.status)
        return Problem(type="about:blank", detail="HTTP %d: %s" % (resp.status, resp.text(200)), status=resp.status)

    @staticmethod
    def _response(resp: HttpReply) -> AcmeResponse:
        if "json" in resp.content_type:
            try:
                body: Any = resp.json()
            except ValueError:
                raise MdError("CA sent invalid JSON from %s" % resp.url) from None
        else:
            body = resp.body
        return AcmeResponse(resp.status, resp.headers, body, resp.headers.get("location"),
                            parse_links(resp.headers.get("link")))
