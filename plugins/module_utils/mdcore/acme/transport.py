"""HTTP side of ACME: directory, nonce pool, signed POSTs, badNonce retry, Retry-After, deadlines.

Modelled on certbot's ClientNetwork: every response feeds the nonce pool, so a run needs one
newNonce request at most. Every request and every wait is bounded by the run's deadline.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

try:
    import requests
    from requests.structures import CaseInsensitiveDict
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .. import USER_AGENT
from ..clock import Clock, Deadline
from ..errors import DeadlineExceeded, MdError, NetworkError
from .jws import AccountKey, sign_request
from .problems import BAD_NONCE, AcmeProblemError, Problem

JOSE = "application/jose+json"
PROBLEM = "application/problem+json"
BAD_NONCE_RETRIES = 5
# A 503/429 asking us to come back within this many seconds is waited for; longer is an error.
MAX_INLINE_RETRY_AFTER = 10.0


@dataclass
class TransportOptions:
    verify: bool | str = True  # True, or the path of a CA bundle for the ACME server
    proxy: str | None = None
    request_timeout: float = 30.0
    user_agent: str = USER_AGENT


@dataclass
class AcmeResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive (requests' CaseInsensitiveDict)
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
    """One ACME server endpoint. Thread-safe for nonces only if used from one thread."""

    def __init__(self, directory_url: str, clock: Clock, options: TransportOptions | None = None,
                 session: requests.Session | None = None) -> None:
        self.directory_url = directory_url
        self.clock = clock
        self.options = options or TransportOptions()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = self.options.user_agent
        self.session.verify = self.options.verify
        if self.options.proxy:
            self.session.proxies = {"http": self.options.proxy, "https": self.options.proxy}
        self._nonces: list[str] = []
        self._directory: dict | None = None

    # -- plain HTTP -------------------------------------------------------------------------
    def _http(self, method: str, url: str, deadline: Deadline, **kwargs) -> requests.Response:
        if deadline.expired():
            raise DeadlineExceeded("gave up on %s %s: the run's deadline passed" % (method, url))
        try:
            # verify is passed per request: requests lets REQUESTS_CA_BUNDLE override session.verify
            resp = self.session.request(method, url, timeout=deadline.bounded(self.options.request_timeout),
                                        verify=self.options.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise NetworkError("TLS failure talking to %s: %s" % (url, _first_line(exc))) from None
        except requests.exceptions.Timeout:
            raise DeadlineExceeded("no answer from %s in time" % url) from None
        except requests.exceptions.RequestException as exc:
            raise NetworkError("cannot reach %s: %s" % (url, _first_line(exc))) from None
        nonce = resp.headers.get("Replay-Nonce")
        if nonce:
            self._nonces.append(nonce)
        return resp

    def directory(self, deadline: Deadline) -> dict:
        if self._directory is None:
            resp = self._http("GET", self.directory_url, deadline)
            if resp.status_code != 200:
                raise NetworkError("ACME directory %s answered HTTP %d" % (self.directory_url, resp.status_code))
            try:
                body = resp.json()
            except ValueError:
                raise NetworkError("ACME directory %s did not return JSON" % self.directory_url) from None
            if not isinstance(body, dict) or "newNonce" not in body or "newOrder" not in body:
                raise NetworkError("%s is not an ACME directory" % self.directory_url)
            self._directory = body
        return self._directory

    def _nonce(self, deadline: Deadline) -> str:
        if self._nonces:
            return self._nonces.pop()
        resp = self._http("HEAD", self.directory(deadline)["newNonce"], deadline)
        if not self._nonces:
            raise NetworkError("CA gave no Replay-Nonce (HTTP %d)" % resp.status_code)
        return self._nonces.pop()

    # -- signed requests --------------------------------------------------------------------
    def post(self, url: str, payload: Any, key: AccountKey, kid: str | None, deadline: Deadline,
             context: str, accept: str | None = None) -> AcmeResponse:
        """POST a JWS; retries badNonce and short Retry-After; raises AcmeProblemError otherwise."""
        attempt = 0
        while True:
            attempt += 1
            body = sign_request(key, url, payload, self._nonce(deadline), kid)
            headers = {"Content-Type": JOSE}
            if accept:
                headers["Accept"] = accept
            resp = self._http("POST", url, deadline, data=json.dumps(body), headers=headers)
            if resp.status_code < 400:
                return self._response(resp)
            problem = self._problem(resp)
            retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.clock)
            if problem.type == BAD_NONCE and attempt <= BAD_NONCE_RETRIES:
                continue
            if resp.status_code in (429, 503) and retry_after is not None and attempt <= 3 \
                    and retry_after <= min(MAX_INLINE_RETRY_AFTER, deadline.remaining()):
                self.clock.sleep(retry_after)
                continue
            raise AcmeProblemError(problem, context, retry_after=retry_after)

    def post_as_get(self, url: str, key: AccountKey, kid: str, deadline: Deadline, context: str,
                    accept: str | None = None) -> AcmeResponse:
        return self.post(url, None, key, kid, deadline, context, accept=accept)

    def get(self, url: str, deadline: Deadline) -> requests.Response:
        """Unauthenticated GET (ARI renewalInfo)."""
        return self._http("GET", url, deadline)

    @staticmethod
    def _problem(resp: requests.Response) -> Problem:
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("type"):
            return Problem.from_json(doc, resp.status_code)
        return Problem(type="about:blank", detail="HTTP %d: %s" % (resp.status_code, resp.text[:200]),
                       status=resp.status_code)

    @staticmethod
    def _response(resp: requests.Response) -> AcmeResponse:
        ctype = resp.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                body: Any = resp.json()
            except ValueError:
                raise MdError("CA sent invalid JSON from %s" % resp.url) from None
        else:
            body = resp.content
        return AcmeResponse(resp.status_code, CaseInsensitiveDict(resp.headers), body,
                            resp.headers.get("Location"), parse_links(resp.headers.get("Link")))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^)'\"\]\n]+)")
_TLS = re.compile(r"(certificate verify failed[^)'\"\n]*|wrong version number|tlsv1 alert [a-z ]+|hostname [^)'\"\n]+)")


def _first_line(exc: Exception) -> str:
    """What went wrong, without urllib3's wrapping ("HTTPSConnectionPool(...): Max retries
    exceeded ... (Caused by NewConnectionError('<...>: Failed to establish ...: [Errno 111]
    Connection refused'))" becomes "connection refused")."""
    text = str(exc) or exc.__class__.__name__
    found = _TLS.search(text) or _ERRNO.search(text)
    if found:
        return found.group(1).strip().rstrip(".")
    return text.splitlines()[0][:300]
