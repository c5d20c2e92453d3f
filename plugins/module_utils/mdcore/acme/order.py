"""The order flow for one certificate (RFC 8555 7.4): new or resumed order, authorizations,
challenges, finalize with a CSR, download of the chosen chain. Every wait is deadline-bounded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..chains import chain_matches
from ..challenges.base import ChallengeTask, Solver
from ..clock import Clock, Deadline
from ..errors import ChallengeError, DeadlineExceeded, MdError
from .jws import AccountKey, b64, dns01_txt_value, key_authorization
from .problems import ORDER_NOT_READY, AcmeProblemError, OrderDeadError, Problem
from .resources import FINAL_AUTHZ, AccountRef, Authorization, Identifier, Order, Status
from .transport import AcmeResponse, AcmeTransport, parse_retry_after

PEM_CHAIN = "application/pem-certificate-chain"
POLL_FIRST = 0.05  # pebble with VA_NOSLEEP answers in milliseconds; real CAs send Retry-After
POLL_MAX = 3.0
# An authorization is never valid at once after its challenge was answered, nor an order right
# after finalize: the first look waits this long instead of spending a request on "pending"
# (an authorization: at most this long, less when its solver saw the CA fetch: Solver.watch).
VALIDATION_FIRST_LOOK = 0.03
ISSUANCE_FIRST_LOOK = 0.02
ORDER_LIST_PAGES = 50  # pages of an account's order list read to find a lost order (pebble: 3 orders a page)

EventFn = Callable[[str], None]


@dataclass
class OrderRequest:
    names: list[str]
    csr_der: bytes
    resume_url: str | None = None
    profile: str | None = None
    replaces: str | None = None  # ARI cert id of the certificate this order renews
    preferred_chain: str | None = None


@dataclass
class IssuedChain:
    order_url: str
    fullchain_pem: bytes


class OrderFlow:
    """Drives one order to a certificate with an account and a set of solvers (by challenge type)."""

    def __init__(self, transport: AcmeTransport, account: AccountRef, key: AccountKey,
                 solvers: dict[str, Solver], clock: Clock, on_event: EventFn | None = None,
                 on_order_url: Callable[[str], None] | None = None,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.transport = transport
        self.account = account
        self.key = key
        self.solvers = solvers
        self.clock = clock
        self.on_event = on_event or (lambda _e: None)
        self.on_order_url = on_order_url or (lambda _u: None)
        self.on_warning = on_warning or (lambda _w: None)  # what the run's report must still say

    # -- helpers ----------------------------------------------------------------------------
    def _get(self, url: str, deadline: Deadline, what: str):
        return _json_object(self.transport.post_as_get(url, self.key, self.account.url, deadline, what), what)

    def _poll(self, url: str, deadline: Deadline, what: str, done: Callable[[dict], bool],
              first_look: float = 0.0, pause: Callable[[float], object] | None = None) -> dict:
        """Look at ``url`` until ``done``: after ``first_look``, then at growing intervals or when
        the CA says (Retry-After). ``pause(seconds)``: waits instead of the clock for our own
        waits, and may end them early (an authorization: the CA fetched the challenge's answer)."""
        pause = pause or self.clock.sleep
        if first_look:
            pause(deadline.bounded(first_look))
        interval = POLL_FIRST
        while True:
            resp = self._get(url, deadline, what)
            if done(resp.body):
                return resp.body
            asked = parse_retry_after(resp.headers.get("Retry-After"), self.clock)
            wait = asked or interval
            if deadline.remaining() <= 0 or wait > deadline.remaining():
                raise DeadlineExceeded("%s still %r when the order's deadline ran out"
                                       % (what, resp.body.get("status")))
            (self.clock.sleep if asked else pause)(wait)  # the CA's Retry-After is waited out
            interval = min(POLL_MAX, interval * 2)

    # -- the flow ---------------------------------------------------------------------------
    def run(self, req: OrderRequest, deadline: Deadline) -> IssuedChain:
        order = self._resume(req, deadline) if req.resume_url else None
        if order is None:
            order = self._new_order(req, deadline)
        if order.status == Status.PENDING:
            self._authorize(order, deadline)
            order = self._finalize(order, req, deadline)  # ready now (RFC 8555 7.1.6): not asked again
        elif order.status == Status.READY:
            order = self._finalize(order, req, deadline)
        if order.status in (Status.READY, Status.PROCESSING):  # processing: resumed after finalize
            doc = self._poll(order.url, deadline, "order",
                             lambda d: d.get("status") not in (Status.READY, Status.PROCESSING),
                             first_look=ISSUANCE_FIRST_LOOK)
            order = Order.from_json(order.url, doc)
        if order.status != Status.VALID or not order.certificate:
            problem = order.error or Problem("about:blank", "order ended in state %r" % order.status)
            dead = order.status in (Status.INVALID, Status.EXPIRED, Status.DEACTIVATED)
            raise (OrderDeadError if dead else AcmeProblemError)(problem, "the order for %s" % ", ".join(req.names))
        return IssuedChain(order.url, self._download(order.certificate, req.preferred_chain, deadline))

    def _finalize(self, order: Order, req: OrderRequest, deadline: Deadline) -> Order:
        """Finalize with the CSR; the answer is the order. A CA that has not yet moved a fully
        authorized order to ready says orderNotReady: then its status is waited for once."""
        try:
            resp = self.transport.post(order.finalize, {"csr": b64(req.csr_der)}, self.key, self.account.url,
                                       deadline, "finalize")
        except AcmeProblemError as exc:
            if exc.problem.type != ORDER_NOT_READY:
                raise
            doc = self._poll(order.url, deadline, "order", lambda d: d.get("status") != Status.PENDING)
            order = Order.from_json(order.url, doc)
            if order.status != Status.READY:
                return order
            resp = self.transport.post(order.finalize, {"csr": b64(req.csr_der)}, self.key, self.account.url,
                                       deadline, "finalize")
        if isinstance(resp.body, dict) and resp.body.get("status"):
            return Order.from_json(order.url, resp.body)
        return Order(order.url, Status.PROCESSING, order.identifiers, order.authorizations, order.finalize)

    def _resume(self, req: OrderRequest, deadline: Deadline) -> Order | None:
        """The remembered order, if the CA still has it usable for the same names."""
        try:
            order = Order.from_json(req.resume_url or "", self._get(req.resume_url or "", deadline, "order").body)
        except AcmeProblemError:
            return None
        wanted = sorted(_identifier(n).value for n in req.names)
        if sorted(i.value for i in order.identifiers) != wanted:
            return None
        if order.status in (Status.INVALID, Status.EXPIRED, Status.DEACTIVATED):
            return None
        if order.status == Status.VALID and not order.certificate:
            return None
        return order

    def _new_order(self, req: OrderRequest, deadline: Deadline) -> Order:
        payload: dict = {"identifiers": [_identifier(n).to_json() for n in req.names]}
        if req.profile:
            payload["profile"] = req.profile
        if req.replaces:
            payload["replaces"] = req.replaces
        directory = self.transport.directory(deadline)
        resp = self.transport.post(directory["newOrder"], payload, self.key, self.account.url, deadline,
                                   "a new order for %s" % ", ".join(req.names))
        if not resp.location:
            raise MdError("CA created an order without telling its URL")
        self.on_order_url(resp.location)  # first: a run killed after this resumes the order, never makes another
        _json_object(resp, "new order")
        return Order.from_json(resp.location, resp.body)

    def find_lost_order(self, names: list[str], known: set[str], deadline: Deadline) -> str | None:
        """The URL of an order for ``names`` that a run killed right after its newOrder never
        wrote down: from the account's order list (RFC 8555 7.1.2.1), the newest pending or ready
        one not in ``known``. None when the CA keeps no list (Let's Encrypt reuses a pending order
        for the same names instead) or has none."""
        try:
            account = self._get(self.account.url, deadline, "account").body
            listing = account.get("orders")
            if not isinstance(listing, str):
                return None
            urls: list = []
            page: str | None = listing
            for _page in range(ORDER_LIST_PAGES):  # the list is paginated (Link rel="next"), the newest last
                resp = self._get(page, deadline, "the account's orders")
                found = resp.body.get("orders")
                urls += found if isinstance(found, list) else []
                page = next(iter(resp.links.get("next", [])), None)
                if not page:
                    break
        except (AcmeProblemError, MdError):
            return None
        wanted = sorted(_identifier(n).value for n in names)
        for url in reversed(urls):
            if not isinstance(url, str) or url in known:
                continue
            try:
                order = Order.from_json(url, self._get(url, deadline, "order").body)
            except (AcmeProblemError, MdError):
                continue
            if order.status in (Status.PENDING, Status.READY) and \
                    sorted(i.value for i in order.identifiers) == wanted:
                return url
        return None

    def _authorize(self, order: Order, deadline: Deadline) -> None:
        pending: list[tuple[Authorization, Solver, ChallengeTask, str]] = []
        try:
            for url in order.authorizations:
                authz = Authorization.from_json(url, self._get(url, deadline, "authorization").body)
                if authz.status == Status.VALID:
                    continue
                if authz.status != Status.PENDING:
                    raise OrderDeadError(authz.failure() or Problem(
                        "about:blank", "authorization is %s" % authz.status), "authorization of %s" % authz.name)
                solver, chal_url, task = self._setup(authz)
                pending.append((authz, solver, task, chal_url))
            for solver in {id(s): s for _a, s, _t, _u in pending}.values():
                solver.ready(deadline)
            for _authz, _solver, _task, chal_url in pending:
                self.transport.post(chal_url, {}, self.key, self.account.url, deadline, "challenge response")
            for authz, solver, task, _url in pending:
                # A solver that sees the CA fetch its answer (the standalone listener) ends each
                # wait once the CA fetched: the validation is done then, not at the next interval.
                watch = solver.watch(task)
                doc = self._poll(authz.url, deadline, "authorization of %s" % authz.name,
                                 lambda d: d.get("status") in FINAL_AUTHZ, first_look=VALIDATION_FIRST_LOOK,
                                 pause=watch.wait if watch is not None else None)
                done = Authorization.from_json(authz.url, doc)
                if done.status != Status.VALID:
                    problem = done.failure() or Problem("about:blank", "authorization %s" % done.status)
                    raise OrderDeadError(problem, "validation of %s" % done.name, hint=solver.failure_hint(task))
        finally:
            for _authz, solver, task, _url in pending:
                try:
                    solver.teardown(task)
                except MdError as exc:  # must not hide the real outcome, nor go unsaid (a record left behind)
                    self.on_warning("the challenge answer for %s was not removed: %s" % (task.domain, exc))

    def _setup(self, authz: Authorization) -> tuple[Solver, str, ChallengeTask]:
        for ctype, solver in self.solvers.items():
            chal = authz.challenge(ctype)
            if chal is None:
                continue
            task = ChallengeTask(authz.identifier.value, chal.token, key_authorization(self.key, chal.token),
                                 dns01_txt_value(self.key, chal.token), wildcard=authz.wildcard,
                                 account_url=self.account.url, issuer_domain_names=chal.issuer_domain_names,
                                 challenge_account_uri=chal.account_uri)
            self.on_event("challenge-setup:%s:%s" % (ctype, authz.identifier.value))
            solver.setup(task)
            return solver, chal.url, task
        offered = ", ".join(c.type for c in authz.challenges) or "none"
        raise ChallengeError("CA offers no usable challenge for %s (offered: %s; configured: %s)"
                             % (authz.name, offered, ", ".join(self.solvers)))

    def _download(self, url: str, preferred: str | None, deadline: Deadline) -> bytes:
        resp = self.transport.post_as_get(url, self.key, self.account.url, deadline, "certificate download",
                                          accept=PEM_CHAIN)
        default = _pem_bytes(resp.body)
        if not preferred or chain_matches(default, preferred):
            return default
        for alt in resp.links.get("alternate", []):
            alt_resp = self.transport.post_as_get(alt, self.key, self.account.url, deadline,
                                                  "alternate chain download", accept=PEM_CHAIN)
            pem = _pem_bytes(alt_resp.body)
            if chain_matches(pem, preferred):
                return pem
        return default  # like certbot: the preferred chain is a wish, the default chain still works


def _identifier(name: str) -> Identifier:
    # RFC 8555 7.1.3: a wildcard order names "*.example.org"; its authorization names the base.
    return Identifier("dns", name) if name.startswith("*.") else Identifier.for_name(name)


def _json_object(resp: AcmeResponse, what: str) -> AcmeResponse:
    # Order/authorization documents are JSON objects; anything else (an HTML error page with
    # status 200) must become a readable MdError, not an AttributeError further down.
    if not isinstance(resp.body, dict):
        raise MdError("CA sent no JSON object for the %s (HTTP %d, %s)"
                      % (what, resp.status, resp.headers.get("Content-Type") or "no Content-Type"))
    return resp


def _pem_bytes(body) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    raise MdError("CA sent the certificate as JSON instead of a PEM chain")
