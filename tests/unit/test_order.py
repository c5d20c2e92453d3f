"""OrderFlow against the fake CA: new and resumed orders, wildcards, chains, failures, deadlines."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mdcore.acme.jws import AccountKey
from mdcore.acme.order import IssuedChain, OrderFlow, OrderRequest
from mdcore.acme.problems import AcmeProblemError
from mdcore.acme.resources import AccountRef
from mdcore.acme.transport import AcmeTransport
from mdcore.certs import names_of, split_pem_chain
from mdcore.challenges.http01 import WebrootSolver
from mdcore.clock import Deadline, FakeClock
from mdcore.errors import ChallengeError, DeadlineExceeded, MdError
from mdcore.keys import make_csr

from .fakeacme import Crash, FakeAcme, Reply, problem
from .helpers import RecordingSolver
from .testca import ALT_ROOT_CN, INTERMEDIATE_CN, ROOT_CN

NAMES = ["www.example.org", "example.org"]


class Harness:
    def __init__(
        self,
        fake: FakeAcme,
        transport: AcmeTransport,
        account: tuple[AccountRef, AccountKey],
        clock: FakeClock,
        webroot: str,
    ) -> None:
        self.fake, self.transport, self.clock = fake, transport, clock
        self.ref, self.key = account
        self.webroot = webroot
        fake.webroot = webroot
        self.events: list[str] = []
        self.order_urls: list[str] = []
        self.cert_key = ec.generate_private_key(ec.SECP256R1())

    def flow(self, solvers: dict | None = None) -> OrderFlow:
        return OrderFlow(
            self.transport,
            self.ref,
            self.key,
            solvers or {"http-01": WebrootSolver(self.webroot)},
            self.clock,
            on_event=self.events.append,
            on_order_url=self.order_urls.append,
        )

    def request(self, names: list[str] | None = None, **kwargs) -> OrderRequest:
        names = NAMES if names is None else names
        return OrderRequest(names=names, csr_der=make_csr(self.cert_key, names), **kwargs)

    def run(
        self, names: list[str] | None = None, deadline: float = 300, solvers: dict | None = None, **kwargs
    ) -> IssuedChain:
        return self.flow(solvers).run(self.request(names, **kwargs), Deadline(self.clock, deadline))


@pytest.fixture
def h(
    fake_ca: FakeAcme,
    transport: AcmeTransport,
    account: tuple[AccountRef, AccountKey],
    clock: FakeClock,
    tmp_path,
) -> Harness:
    return Harness(fake_ca, transport, account, clock, str(tmp_path / "challenges"))


def test_new_order(h: Harness) -> None:
    issued = h.run()
    chain = split_pem_chain(issued.fullchain_pem)
    assert sorted(names_of(chain[0])) == sorted(NAMES)
    assert chain[1].subject.rfc4514_string() == "CN=" + INTERMEDIATE_CN
    assert h.order_urls == [issued.order_url]
    assert h.events == ["challenge-setup:http-01:www.example.org", "challenge-setup:http-01:example.org"]
    assert os.listdir(h.webroot) == []  # tokens removed after validation
    assert h.fake.count("newOrder") == 1 and h.fake.count("finalize") == 1


def test_profile_and_replaces_are_sent(h: Harness) -> None:
    h.run(profile="shortlived", replaces="aki.serial")
    assert h.fake.payloads("newOrder")[0]["profile"] == "shortlived"
    assert h.fake.payloads("newOrder")[0]["replaces"] == "aki.serial"


def test_resume_remembered_order_without_a_new_one(h: Harness) -> None:
    h.fake.inject("challenge", Crash())
    with pytest.raises(Crash):
        h.run()
    assert len(h.order_urls) == 1
    issued = h.run(resume_url=h.order_urls[0])
    assert issued.order_url == h.order_urls[0]
    assert h.fake.count("newOrder") == 1


def test_resume_an_order_that_is_ready(h: Harness) -> None:
    h.fake.inject("finalize", Crash())
    with pytest.raises(Crash):
        h.run()
    assert h.fake.orders[h.order_urls[0]].status == "ready"
    h.run(resume_url=h.order_urls[0])
    assert h.fake.count("newOrder") == 1 and h.fake.count("challenge") == 2


def test_resume_an_order_that_is_still_processing(h: Harness) -> None:
    """Killed right after finalize: the resumed order is 'processing' and has to be polled, not failed."""
    h.fake.processing_polls = 2
    h.fake.inject("order", lambda _seen: None, Crash())  # the 2nd order poll is the one after finalize
    with pytest.raises(Crash):
        h.run()
    assert h.fake.orders[h.order_urls[0]].status == "processing"
    issued = h.run(resume_url=h.order_urls[0])
    assert issued.order_url == h.order_urls[0]
    assert h.fake.count("newOrder") == 1 and h.fake.count("finalize") == 1


def test_resume_an_invalid_order_makes_a_new_one(h: Harness) -> None:
    h.fake.inject("challenge", Crash())
    with pytest.raises(Crash):
        h.run()
    h.fake.orders[h.order_urls[0]].status = "invalid"
    issued = h.run(resume_url=h.order_urls[0])
    assert issued.order_url != h.order_urls[0]
    assert h.fake.count("newOrder") == 2


@pytest.mark.parametrize(
    "break_it",
    [
        lambda fake, url: fake.orders.pop(url),  # the CA forgot it: 404
        lambda fake, url: setattr(
            fake.orders[url], "identifiers", [{"type": "dns", "value": "other.example"}]
        ),
    ],
)
def test_resume_of_a_gone_or_different_order_makes_a_new_one(h: Harness, break_it: Callable) -> None:
    h.fake.inject("challenge", Crash())
    with pytest.raises(Crash):
        h.run()
    break_it(h.fake, h.order_urls[0])
    h.run(resume_url=h.order_urls[0])
    assert h.fake.count("newOrder") == 2


def test_wildcard_uses_dns01_with_the_base_name(h: Harness) -> None:
    dns = RecordingSolver("dns-01")
    h.run(["*.example.org", "example.org"], solvers={"dns-01": dns})
    idents = h.fake.payloads("newOrder")[0]["identifiers"]
    assert idents == [{"type": "dns", "value": "*.example.org"}, {"type": "dns", "value": "example.org"}]
    assert dns.calls.count(("setup", "example.org")) == 2  # the wildcard's authz names the base domain
    assert dns.calls.count(("ready", "")) == 1
    assert "challenge-setup:dns-01:example.org" in h.events


class _TeardownFails(RecordingSolver):
    def teardown(self, task) -> None:
        raise ChallengeError("nsupdate refused the delete of _acme-challenge.%s" % task.domain)


def test_a_failed_teardown_is_reported_not_swallowed(h: Harness) -> None:
    warnings: list[str] = []
    flow = h.flow({"dns-01": _TeardownFails("dns-01")})
    flow.on_warning = warnings.append
    issued = flow.run(h.request(["*.example.org"]), Deadline(h.clock, 300))
    assert issued.fullchain_pem  # the order's outcome stands
    assert warnings == ["the challenge answer for example.org was not removed: "
                        "nsupdate refused the delete of _acme-challenge.example.org"]


def test_wildcard_without_a_dns01_solver(h: Harness) -> None:
    with pytest.raises(ChallengeError, match=r"no usable challenge for \*\.example\.org \(offered: dns-01"):
        h.run(["*.example.org"])


def test_ip_identifier(h: Harness) -> None:
    h.run(["192.0.2.10"])
    assert h.fake.payloads("newOrder")[0]["identifiers"] == [{"type": "ip", "value": "192.0.2.10"}]


@pytest.mark.parametrize(
    "preferred,top_issuer,alt_downloads",
    [
        (ALT_ROOT_CN, ALT_ROOT_CN, 1),
        (ROOT_CN.lower(), ROOT_CN, 0),  # the default chain already matches: no extra download
        ("Nobody's Root", ROOT_CN, 1),  # a wish, not a requirement
        (None, ROOT_CN, 0),
    ],
)
def test_preferred_chain(h: Harness, preferred: str | None, top_issuer: str, alt_downloads: int) -> None:
    issued = h.run(preferred_chain=preferred)
    top = split_pem_chain(issued.fullchain_pem)[-1]
    assert top.issuer.rfc4514_string() == "CN=" + top_issuer
    assert h.fake.count("certAlt") == alt_downloads


def test_failed_validation_message_contains_the_ca_detail(h: Harness) -> None:
    h.fake.fail_validation = "Invalid response from http://www.example.org/.well-known/acme-challenge/x: 404"
    with pytest.raises(AcmeProblemError) as err:
        h.run()
    text = str(err.value)
    assert "validation of www.example.org" in text
    assert (
        "unauthorized: Invalid response from http://www.example.org/.well-known/acme-challenge/x: 404" in text
    )
    assert err.value.retry_hot is False
    assert os.listdir(h.webroot) == []  # every token torn down
    assert h.fake.count("finalize") == 0


def test_validation_checks_the_real_token_file(h: Harness) -> None:
    """The fake reads the webroot file: a wrong key authorization would fail here."""
    h.fake.validator = None
    h.run()
    assert all(a.status == "valid" for a in h.fake.authzs.values())


def test_rejected_identifier(h: Harness) -> None:
    h.fake.reject = {"bad.example.org": "Domain name is on a blocklist"}
    with pytest.raises(AcmeProblemError) as err:
        h.run(["bad.example.org", "example.org"])
    assert "rejectedIdentifier: Domain name is on a blocklist [dns:bad.example.org]" in str(err.value)
    assert "a new order for bad.example.org, example.org" in str(err.value)
    assert err.value.retry_hot is False


def test_order_stuck_in_processing_hits_the_deadline(h: Harness) -> None:
    h.fake.stuck_processing = True
    start = h.clock.monotonic()
    with pytest.raises(DeadlineExceeded, match="order still 'processing'"):
        h.run(deadline=60)
    assert h.clock.monotonic() - start <= 60
    assert h.fake.count("order") > 3


def test_processing_honours_retry_after(h: Harness) -> None:
    h.fake.processing_polls = 2
    h.fake.processing_retry_after = "3"
    h.run()
    assert h.clock.slept.count(3.0) >= 2


def test_retry_after_header_in_lower_case(h: Harness) -> None:
    """HTTP/2 proxies send header names in lower case: Retry-After must still be found."""
    h.fake.processing_polls = 1
    h.fake.processing_retry_after = "4"
    real = h.fake._do_order

    def lower(seen, account, payload):
        reply = real(seen, account, payload)
        reply.headers = {k.lower(): v for k, v in reply.headers.items()}
        return reply

    h.fake._do_order = lower  # type: ignore[method-assign]
    h.run()
    assert 4.0 in h.clock.slept


def test_order_body_that_is_not_json(h: Harness) -> None:
    h.fake.inject("authz", Reply(200, b"<html>oops</html>", {"Content-Type": "text/html"}))
    with pytest.raises(MdError, match="authorization"):
        h.run()


def test_certificate_sent_as_json(h: Harness) -> None:
    h.fake.inject("cert", Reply(200, {"certificate": "nope"}))
    with pytest.raises(MdError, match="PEM chain"):
        h.run()


def test_an_order_asks_nothing_twice(h: Harness) -> None:
    """newOrder, each authorization once before and once after its challenge (after a first
    wait instead of at once), finalize straight after validation (its answer is the order) and
    the download: no order poll in between, no second look at a pending authorization."""
    h.run()
    by_kind = {kind: h.fake.count(kind) for kind in ("newOrder", "authz", "challenge", "order", "finalize", "cert")}
    assert by_kind == {"newOrder": 1, "authz": 4, "challenge": 2, "order": 0, "finalize": 1, "cert": 1}


def test_finalize_too_early_waits_for_the_order_to_be_ready(h: Harness) -> None:
    h.fake.inject("finalize", problem("orderNotReady", "not yet", 403))
    issued = h.run()
    assert issued.fullchain_pem and h.fake.count("finalize") == 2 and h.fake.count("order") == 1


def test_processing_after_finalize_is_first_looked_at_after_a_wait(h: Harness) -> None:
    h.fake.processing_polls = 1
    before = h.clock.monotonic()
    h.run()
    assert h.fake.count("order") == 2  # processing, then valid
    assert h.clock.monotonic() - before >= 0.02 + 0.02  # the first looks at authorizations and the order


class _Watch:
    def __init__(self, outcomes: list[bool]) -> None:
        self.outcomes, self.asked = outcomes, []

    def wait(self, seconds: float) -> bool:
        self.asked.append(seconds)
        return self.outcomes.pop(0) if self.outcomes else False


class _SeesFetches(WebrootSolver):
    """A webroot solver that is told when the CA fetched (as the standalone listener is)."""

    def __init__(self, folder: str, outcomes: list[bool] | None) -> None:
        super().__init__(folder)
        self.outcomes, self.watches = outcomes, []

    def watch(self, task):
        if self.outcomes is None:
            return None
        self.watches.append(_Watch(list(self.outcomes)))
        return self.watches[-1]


@pytest.mark.parametrize("outcomes, waited", [([True], 0.0), ([False], 0.0), (None, 0.03 * 2)])
def test_the_first_look_at_an_authorization_follows_the_ca_s_fetch(h: Harness, outcomes, waited) -> None:
    """A solver that sees the CA's fetches waits for them (real time, at most the fixed first look)
    instead of the clock; one that cannot tell gets the fixed first wait on the clock, per
    authorization. Never more requests than before."""
    solver = _SeesFetches(h.webroot, outcomes)
    before = h.clock.monotonic()
    h.run(solvers={"http-01": solver})
    assert h.clock.monotonic() - before == pytest.approx(waited)
    if outcomes is not None:
        assert [w.asked for w in solver.watches] == [[0.03], [0.03]]  # one first look per authorization
    assert h.fake.count("authz") == 4  # each authorization once before and once after its challenge


@pytest.mark.parametrize("retry_after", [None, "2"])
def test_a_pending_authorization_waits_for_the_next_fetch_but_never_past_retry_after(h: Harness,
                                                                                     retry_after) -> None:
    """After a look that found it pending, the wait ends at the CA's next fetch (at most our
    interval); a Retry-After of the CA is waited out on the clock, never cut short."""
    h.fake.validating_polls, h.fake.validating_retry_after = 1, retry_after
    solver = _SeesFetches(h.webroot, [True, True])
    before = h.clock.monotonic()
    h.run(names=["www.example.org"], solvers={"http-01": solver})
    if retry_after is None:
        assert solver.watches[0].asked == [0.03, 0.05]  # the first look, then the first interval
        assert h.clock.monotonic() - before == pytest.approx(0.0)
    else:
        assert solver.watches[0].asked == [0.03]
        assert h.clock.monotonic() - before == pytest.approx(2.0)
    assert h.fake.count("authz") == 3  # before the challenge, pending, valid
