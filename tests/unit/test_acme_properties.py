"""Property-based tests (hypothesis) over what a CA may send (issue 10): orders, authorizations,
challenges and problem documents of any shape are read by the engine's resources into well-typed
objects or refused with an MdError naming the field; and an order flow against the fake CA, with
one of its answers replaced by an arbitrary document (any status, any content type), ends in a
certificate or an MdError, never another exception. Examples are bounded to keep the unit run
quick."""

from __future__ import annotations

import json
import tempfile

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mdcore.acme.account import AccountOptions, AccountStore, ensure_account
from mdcore.acme.order import OrderFlow, OrderRequest
from mdcore.acme.problems import Problem
from mdcore.acme.resources import Authorization, Challenge, Order
from mdcore.acme.transport import AcmeTransport
from mdcore.certs import split_pem_chain
from mdcore.challenges.http01 import WebrootSolver
from mdcore.clock import Deadline, FakeClock
from mdcore.errors import MdError
from mdcore.keys import make_csr

from .fakeacme import FakeAcme, Reply
from .testca import TestCA

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)
FLOW_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
SCALARS = st.none() | st.booleans() | st.integers(-2 ** 40, 2 ** 40) | st.floats(allow_nan=False) | \
    st.text(max_size=20) | st.sampled_from(["valid", "pending", "ready", "processing", "invalid", "http-01",
                                            "https://ca.test/x", "dns", "www.example.org", "two\nlines"])
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["type", "value", "status", "url", "token", "detail"]) | st.text(max_size=8), inner,
    max_size=4), max_leaves=10)
ORDER_KEYS = ("status", "identifiers", "authorizations", "finalize", "certificate", "expires", "error")
AUTHZ_KEYS = ("status", "identifier", "wildcard", "challenges", "expires")
CHALLENGE_KEYS = ("type", "url", "status", "token", "error", "validated")
PROBLEM_KEYS = ("type", "detail", "status", "identifier", "subproblems", "instance")


def docs(keys: tuple[str, ...]):
    """Objects with the resource's own keys (and others), each value any JSON."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), JSON, max_size=len(keys) + 1)


def is_problem(problem: Problem | None) -> bool:
    return problem is None or (isinstance(problem.type, str) and isinstance(problem.detail, str) and
                               (problem.status is None or isinstance(problem.status, int)) and
                               all(is_problem(s) for s in problem.subproblems))


@SETTINGS
@given(docs(ORDER_KEYS))
def test_any_order_document_reads_typed_or_is_an_mderror(doc):
    try:
        order = Order.from_json("https://ca.test/order/1", doc)
    except MdError:
        return
    assert isinstance(order.status, str) and isinstance(order.finalize, str)
    assert all(isinstance(i.type, str) and isinstance(i.value, str) for i in order.identifiers)
    assert all(isinstance(a, str) for a in order.authorizations)
    assert order.certificate is None or isinstance(order.certificate, str)
    assert is_problem(order.error)
    sorted(i.value for i in order.identifiers)  # what the flow does with them


@SETTINGS
@given(docs(AUTHZ_KEYS), st.lists(docs(CHALLENGE_KEYS) | JSON, max_size=3))
def test_any_authorization_document_reads_typed_or_is_an_mderror(doc, challenges):
    if challenges:
        doc["challenges"] = challenges
    try:
        authz = Authorization.from_json("https://ca.test/authz/1", doc)
    except MdError:
        return
    assert isinstance(authz.status, str) and isinstance(authz.name, str) and isinstance(authz.wildcard, bool)
    for chal in authz.challenges:
        assert all(isinstance(v, str) for v in (chal.type, chal.url, chal.status, chal.token))
        assert is_problem(chal.error)
    assert is_problem(authz.failure())


@SETTINGS
@given(docs(CHALLENGE_KEYS))
def test_any_challenge_document_reads_typed_or_is_an_mderror(doc):
    try:
        chal = Challenge.from_json(doc)
    except MdError:
        return
    assert all(isinstance(v, str) for v in (chal.type, chal.url, chal.status, chal.token))


@SETTINGS
@given(docs(PROBLEM_KEYS), st.none() | st.integers(100, 599))
def test_any_problem_document_is_described(doc, status):
    problem = Problem.from_json(doc, status)
    assert is_problem(problem)
    assert isinstance(problem.describe(), str) and "\n" not in problem.describe()  # errors are one line
    json.dumps(problem.to_dict())  # the module returns it


# -- the order flow against the fake CA, one answer replaced ---------------------------------------
KINDS = ("newOrder", "order", "authz", "challenge", "finalize", "cert")
STATUSES = st.sampled_from([200, 201, 400, 403, 404, 429, 500, 503])
CONTENT_TYPES = st.sampled_from(["application/json", "application/problem+json", "text/html",
                                 "application/pem-certificate-chain", None])


@pytest.fixture(scope="module")
def ca_certs() -> TestCA:
    return TestCA()


@FLOW_SETTINGS
@given(kind=st.sampled_from(KINDS), status=STATUSES, content_type=CONTENT_TYPES,
       body=docs(ORDER_KEYS + AUTHZ_KEYS) | JSON | st.binary(max_size=40), times=st.integers(1, 3))
def test_an_order_with_any_answer_ends_in_a_certificate_or_an_mderror(
        ca_certs, kind, status, content_type, body, times):
    clock = FakeClock()
    fake = FakeAcme(clock, ca_certs, "https://ca.test")
    webroot = tempfile.mkdtemp(prefix="acme-props-")
    fake.webroot = webroot
    transport = AcmeTransport(fake.directory_url, clock, http=fake.http())
    accounts = AccountStore(tempfile.mkdtemp(prefix="acme-props-accounts-"))
    ref, key = ensure_account(transport, accounts, AccountOptions(agree_tos=True), Deadline(clock, 60))
    headers = {"Content-Type": content_type} if content_type else {}
    if kind == "newOrder":
        headers["Location"] = "https://ca.test/order/hostile"
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body).encode()
    for _time in range(times):
        fake.inject(kind, Reply(status, payload, headers))
    flow = OrderFlow(transport, ref, key, {"http-01": WebrootSolver(webroot)}, clock)
    cert_key = ec.generate_private_key(ec.SECP256R1())
    names = ["www.example.org"]
    try:
        issued = flow.run(OrderRequest(names=names, csr_der=make_csr(cert_key, names)), Deadline(clock, 300))
        certs = split_pem_chain(issued.fullchain_pem)  # what issuance does with it next
    except MdError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        return
    assert certs
