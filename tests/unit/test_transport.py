"""AcmeTransport: directory, nonce pool, badNonce, Retry-After, deadlines, network errors."""

from __future__ import annotations

import datetime
import socket

import pytest

from mdcore import USER_AGENT
from mdcore.acme.jws import AccountKey
from mdcore.acme.problems import AcmeProblemError
from mdcore.acme.resources import AccountRef
from mdcore.acme.transport import AcmeTransport, TransportOptions, parse_links, parse_retry_after
from mdcore.clock import Deadline, FakeClock
from mdcore.errors import DeadlineExceeded, MdError, NetworkError
from mdcore.net import HttpClient, HttpFailure, HttpTimeout
from mdcore.timefmt import http_date

from .fakeacme import FakeAcme, Reply, problem

Account = tuple[AccountRef, AccountKey]


def _new_order(transport: AcmeTransport, account: Account, deadline: Deadline):
    ref, key = account
    url = transport.directory(deadline)["newOrder"]
    payload = {"identifiers": [{"type": "dns", "value": "www.example.org"}]}
    return transport.post(url, payload, key, ref.url, deadline, "a new order")


def test_one_head_new_nonce_for_a_whole_run(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline
) -> None:
    for _order in range(3):
        resp = _new_order(transport, account, deadline)
        transport.post_as_get(resp.location, account[1], account[0].url, deadline, "order")
    assert fake_ca.count("newNonce") == 1
    assert fake_ca.count("directory") == 1  # cached
    assert fake_ca.count("newOrder") == 3


def test_options_reach_the_http_client(fake_ca: FakeAcme, clock: FakeClock, deadline: Deadline) -> None:
    opts = TransportOptions(verify="/etc/ssl/private-ca.pem", request_timeout=7, proxy="http://proxy:3128")
    own = AcmeTransport(fake_ca.directory_url, clock, opts)
    assert isinstance(own.http, HttpClient) and own.http.verify == "/etc/ssl/private-ca.pem"
    assert own.http.user_agent == USER_AGENT and USER_AGENT.startswith("mdfleet.md/")
    assert own.http.route("https://ca.test/dir") == "http://proxy:3128"
    AcmeTransport(fake_ca.directory_url, clock, opts, http=fake_ca.http()).directory(deadline)
    assert fake_ca.seen[0].timeout == 7  # each exchange: request_timeout, within the order's deadline


def test_request_timeout_is_bounded_by_the_deadline(
    fake_ca: FakeAcme, transport: AcmeTransport, clock: FakeClock
) -> None:
    transport.directory(Deadline(clock, 4))
    assert fake_ca.seen[0].timeout == 4


def test_bad_nonce_is_retried_with_nonces_from_error_responses(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline
) -> None:
    fake_ca.inject("post", problem("badNonce", "stale"), problem("badNonce", "stale"))
    _new_order(transport, account, deadline)
    assert fake_ca.count("newOrder") == 3
    assert fake_ca.count("newNonce") == 1


def test_bad_nonce_is_retried_as_long_as_it_takes(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline, clock: FakeClock
) -> None:
    fake_ca.inject("post", *[problem("badNonce", "stale")] * 12)  # more than any fixed count of retries
    started = clock.monotonic()
    _new_order(transport, account, deadline)
    assert fake_ca.count("newOrder") == 13
    assert clock.monotonic() - started < 15  # short pauses after the first retries, no hot loop


def test_bad_nonce_gives_up_at_the_deadline(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, clock: FakeClock
) -> None:
    deadline = Deadline(clock, 30)
    fake_ca.inject("post", *[problem("badNonce", "stale")] * 1000)  # a CA that rejects every nonce
    with pytest.raises(AcmeProblemError, match=r"\(\d+ nonces rejected until the deadline\): badNonce: stale") as err:
        _new_order(transport, account, deadline)
    assert err.value.problem.type.endswith("badNonce")
    assert clock.monotonic() <= deadline.expires  # the order's deadline bounds it (by the injected clock)
    assert 10 <= fake_ca.count("newOrder") <= 40  # asked every few seconds, not thousands of times


def test_short_503_is_waited_for_inline(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline, clock: FakeClock
) -> None:
    fake_ca.inject("newOrder", problem("serverInternal", "busy", 503, headers={"Retry-After": "2"}))
    _new_order(transport, account, deadline)
    assert clock.slept == [2.0]
    assert fake_ca.count("newOrder") == 2


def test_retry_after_as_http_date(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline, clock: FakeClock
) -> None:
    when = http_date(clock.now() + datetime.timedelta(seconds=5))
    fake_ca.inject("newOrder", problem("serverInternal", "busy", 503, headers={"Retry-After": when}))
    _new_order(transport, account, deadline)
    assert clock.slept == [5.0]


def test_long_503_is_raised_with_retry_after(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline, clock: FakeClock
) -> None:
    fake_ca.inject("newOrder", problem("serverInternal", "maintenance", 503, headers={"Retry-After": "3600"}))
    with pytest.raises(AcmeProblemError, match="maintenance") as err:
        _new_order(transport, account, deadline)
    assert err.value.retry_after == 3600
    assert err.value.retry_hot is True
    assert clock.slept == []


def test_rate_limited_is_raised_not_retried_hot(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline, clock: FakeClock
) -> None:
    fake_ca.inject(
        "newOrder",
        problem("rateLimited", "too many certificates already issued", 429, headers={"Retry-After": "7200"}),
    )
    with pytest.raises(AcmeProblemError, match="rateLimited: too many certificates") as err:
        _new_order(transport, account, deadline)
    assert err.value.retry_after == 7200 and err.value.retry_hot is False
    assert clock.slept == []


def test_retry_after_longer_than_the_deadline_is_not_waited(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, clock: FakeClock
) -> None:
    short = Deadline(clock, 30)
    transport.directory(short)
    fake_ca.inject("newOrder", problem("serverInternal", "busy", 503, headers={"Retry-After": "9"}))
    clock.advance(25)
    with pytest.raises(AcmeProblemError):
        _new_order(transport, account, short)
    assert clock.slept == []


def test_expired_deadline_sends_nothing(
    fake_ca: FakeAcme, transport: AcmeTransport, clock: FakeClock
) -> None:
    deadline = Deadline(clock, 5)
    clock.advance(6)
    with pytest.raises(DeadlineExceeded, match="deadline"):
        transport.directory(deadline)
    assert fake_ca.seen == []


@pytest.mark.parametrize(
    "exc,err,text",
    [
        (
            HttpFailure(HttpFailure.TLS, "https://ca.test/dir", "certificate verify failed: self-signed certificate"),
            NetworkError,
            "TLS failure talking to https://ca.test/dir: certificate verify failed: self-signed certificate",
        ),
        (
            HttpFailure(HttpFailure.UNREACHABLE, "https://ca.test/dir", "Connection refused"),
            NetworkError,
            "cannot reach https://ca.test/dir: Connection refused",
        ),
        (
            HttpTimeout("https://ca.test/dir", 30, 0),
            DeadlineExceeded,
            "GET https://ca.test/dir: no answer within 30s",
        ),
        (
            HttpTimeout("https://ca.test/dir", 30, 17),
            DeadlineExceeded,
            "GET https://ca.test/dir: answer not complete within 30s (17 bytes arrived: the peer sends too slowly)",
        ),
    ],
)
def test_network_errors_are_readable(
    fake_ca: FakeAcme, transport: AcmeTransport, deadline: Deadline, exc: Exception, err: type, text: str
) -> None:
    fake_ca.inject("directory", exc)
    with pytest.raises(err) as raised:
        transport.directory(deadline)
    assert str(raised.value).startswith(text)
    assert "\n" not in str(raised.value)


def test_connection_refused_on_real_loopback(clock: FakeClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    transport = AcmeTransport("http://127.0.0.1:%d/dir" % port, clock, http=HttpClient(trust_env=False))
    with pytest.raises(NetworkError, match="cannot reach http://127.0.0.1:%d/dir" % port) as raised:
        transport.directory(Deadline(clock, 10))
    assert str(raised.value) == "cannot reach http://127.0.0.1:%d/dir: Connection refused" % port


def test_untrusted_tls_certificate_on_real_loopback(clock: FakeClock, tmp_path) -> None:
    import ssl
    import threading

    from peers.tlsutil import TestCA

    cert, key = TestCA("untrusted test CA").write_server_files(tmp_path, ["127.0.0.1"], "server")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve_one() -> None:
        conn = listener.accept()[0]
        try:
            context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            pass  # the client refuses our certificate: that is the point
        finally:
            conn.close()

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    url = "https://127.0.0.1:%d/dir" % listener.getsockname()[1]
    transport = AcmeTransport(url, clock, http=HttpClient(trust_env=False))
    try:
        with pytest.raises(NetworkError) as raised:
            transport.directory(Deadline(clock, 10))
    finally:
        thread.join(10)
        listener.close()
    assert str(raised.value).startswith("TLS failure talking to %s: certificate verify failed" % url)
    assert "Max retries" not in str(raised.value) and "Caused by" not in str(raised.value)


@pytest.mark.parametrize(
    "reply,text",
    [
        (Reply(404, b"not found", {"Content-Type": "text/plain"}), "answered HTTP 404"),
        (Reply(200, b"<html>hello</html>", {"Content-Type": "text/html"}), "did not return JSON"),
        (Reply(200, {"hello": "world"}), "is not an ACME directory"),
    ],
)
def test_non_acme_directory(
    fake_ca: FakeAcme, transport: AcmeTransport, deadline: Deadline, reply: Reply, text: str
) -> None:
    fake_ca.inject("directory", reply)
    with pytest.raises(NetworkError, match=text):
        transport.directory(deadline)


def test_missing_replay_nonce(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, clock: FakeClock, deadline: Deadline
) -> None:
    fresh = AcmeTransport(fake_ca.directory_url, clock, http=fake_ca.http())
    fake_ca.inject("newNonce", Reply(200, b"", nonce=False))
    with pytest.raises(NetworkError, match="Replay-Nonce"):
        _new_order(fresh, account, deadline)


def test_invalid_json_in_a_response(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline
) -> None:
    fake_ca.inject("newOrder", Reply(201, b"{not json", {"Content-Type": "application/json"}))
    with pytest.raises(MdError, match="invalid JSON"):
        _new_order(transport, account, deadline)


def test_error_without_problem_document(
    fake_ca: FakeAcme, transport: AcmeTransport, account: Account, deadline: Deadline
) -> None:
    fake_ca.inject("newOrder", Reply(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(AcmeProblemError, match="HTTP 502: <html>Bad Gateway") as err:
        _new_order(transport, account, deadline)
    assert err.value.problem.status == 502


@pytest.mark.parametrize(
    "value,want",
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 3 ", 3.0),
        ("soon", None),
        ("Sun, 29 Nov 2026 12:01:00 GMT", 60.0),
        ("Sun, 29 Nov 2026 12:01:00 -0000", 60.0),  # RFC 2822 "unknown zone": still UTC
        ("Sat, 28 Nov 2026 12:00:00 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after(value: str | None, want: float | None, clock: FakeClock) -> None:
    assert parse_retry_after(value, clock) == want


def test_parse_links() -> None:
    links = parse_links(
        '<https://ca.test/cert/1/alt>;rel="alternate", <https://ca.test/dir>; rel="index",'
        " <https://ca.test/cert/1/alt2>;rel=alternate"
    )
    assert links == {
        "alternate": ["https://ca.test/cert/1/alt", "https://ca.test/cert/1/alt2"],
        "index": ["https://ca.test/dir"],
    }
