"""The engine's one HTTP client against real peers on loopback (tests/peers/slow_peer.py,
http_proxy.py): one deadline for a whole exchange (a trickling peer ends like a silent one, also
during connect and the TLS handshake), TLS with a private CA, keep-alive connections shared by
threads, stale connections replaced, proxies (CONNECT and absolute form), clear errors."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from mdcore import USER_AGENT
from mdcore.clock import Clock, Deadline, FakeClock
from mdcore.errors import ConfigError, DeadlineExceeded
from mdcore.net import HttpClient, HttpFailure, HttpTimeout
from peers.http_proxy import HttpProxy
from peers.slow_peer import ANSWER, CLOSE_AFTER, DRIP, NO_TLS, SILENT, SlowPeer, SteppingClock
from peers.tlsutil import TestCA

SHORT = 0.3  # seconds of real time, where a real socket has to be slow


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    ca = TestCA("http client test CA")
    cert, key = ca.write_server_files(folder, ["127.0.0.1", "localhost"], "server")
    return cert, key, ca.write_ca(folder / "ca.pem")


def client(**kwargs) -> HttpClient:
    kwargs.setdefault("trust_env", False)
    return HttpClient(**kwargs)


def test_a_trickling_peer_ends_at_the_deadline_by_the_injected_clock():
    clock = SteppingClock()
    # one byte "every 2 s": the peer moves the injected clock instead of sleeping
    with SlowPeer(DRIP, step=clock.drip_step) as peer:
        http = client()
        with pytest.raises(HttpTimeout) as err:
            http.exchange("GET", peer.url("/dir"), None, Deadline(clock, 10))
        http.close()
    assert err.value.url == peer.url("/dir") and err.value.kind == HttpFailure.TIMEOUT
    assert "answer not complete within 10s" in str(err.value) and "sends too slowly" in str(err.value)
    assert isinstance(err.value, DeadlineExceeded)
    # 10 s of the injected clock at a byte every 2 s, then it gave up (of an answer of ~100 bytes);
    # the last byte may arrive after the client saw the deadline pass
    assert err.value.seconds == 10 and err.value.received in (4, 5)


def test_a_silent_peer_ends_at_the_deadline():
    with SlowPeer(SILENT) as peer:
        http = client()
        with pytest.raises(HttpTimeout, match=r"no answer within 0.3s") as err:
            http.exchange("POST", peer.url("/new-order"), b"{}", Deadline(Clock(), SHORT))
        http.close()
    assert err.value.received == 0 and len(peer.heads) == 1


def test_a_tls_handshake_that_never_starts_ends_at_the_deadline(tls_files):
    cert, key, ca = tls_files
    with SlowPeer(NO_TLS, tls=(cert, key)) as peer:
        http = client(verify=str(ca))
        with pytest.raises(HttpTimeout, match="no answer within"):
            http.exchange("GET", peer.url("/dir"), None, Deadline(Clock(), SHORT))
        http.close()


def test_an_expired_deadline_sends_nothing():
    clock = FakeClock()
    deadline = Deadline(clock, 1)
    clock.advance(2)
    with SlowPeer(ANSWER) as peer:
        with pytest.raises(HttpTimeout):
            client().exchange("GET", peer.url(), None, deadline)
    assert peer.heads == []


def test_tls_keep_alive_and_the_request_head(tls_files):
    cert, key, ca = tls_files
    with SlowPeer(ANSWER, tls=(cert, key)) as peer:
        http = client(verify=str(ca))
        replies = [http.exchange("GET", peer.url("/dir?x=1"), None, Deadline(Clock(), 5)) for _i in range(3)]
        http.close()
    assert [r.status for r in replies] == [200, 200, 200]
    assert replies[0].json() == {} and replies[0].headers["Replay-Nonce"] == "drip-nonce"
    assert peer.connections == 1  # one handshake for three requests
    head = peer.heads[0].decode()
    assert head.startswith("GET /dir?x=1 HTTP/1.1\r\n")
    assert "\r\nHost: 127.0.0.1:%d\r\n" % peer.port in head and "\r\nUser-Agent: %s" % USER_AGENT in head


def test_an_untrusted_certificate_is_a_tls_failure(tls_files):
    cert, key, _ca = tls_files
    with SlowPeer(ANSWER, tls=(cert, key)) as peer:
        with pytest.raises(HttpFailure) as err:
            client(verify=True).exchange("GET", peer.url(), None, Deadline(Clock(), 5))
    assert err.value.kind == HttpFailure.TLS
    assert err.value.reason.startswith("certificate verify failed: ")


def test_a_missing_ca_bundle_is_a_config_error(tmp_path):
    with SlowPeer(ANSWER, tls=None) as peer:
        with pytest.raises(ConfigError, match="cannot load the CA bundle .*missing.pem"):
            client(verify=str(tmp_path / "missing.pem")).exchange(
                "GET", peer.url(scheme="https"), None, Deadline(Clock(), 5))


def test_threads_share_kept_alive_connections():
    with SlowPeer(ANSWER) as peer:
        http = client()
        statuses: list[int] = []

        def work() -> None:
            for _i in range(5):
                statuses.append(http.exchange("GET", peer.url(), None, Deadline(Clock(), 5)).status)

        threads = [threading.Thread(target=work) for _i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        http.close()
    assert statuses == [200] * 40
    assert peer.connections <= 8  # never more connections than requests in flight


def test_a_connection_the_peer_closed_is_replaced():
    with SlowPeer(CLOSE_AFTER) as peer:
        http = client()
        for _i in range(3):
            assert http.exchange("POST", peer.url(), b"x", Deadline(Clock(), 5)).status == 200
        http.close()
    assert peer.connections == 3 and len(peer.heads) == 3


def test_an_oversize_answer_is_refused():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    with SlowPeer(ANSWER, answer=big) as peer:
        with pytest.raises(HttpFailure) as err:
            client(max_bytes=1024).exchange("GET", peer.url(), None, Deadline(Clock(), 5))
    assert err.value.kind == HttpFailure.TOO_LARGE


def test_connection_refused_names_the_cause():
    with SlowPeer(ANSWER) as peer:
        url = peer.url()
    with pytest.raises(HttpFailure) as err:  # the peer is gone: nothing listens on its port
        client().exchange("GET", url, None, Deadline(Clock(), 5))
    assert (err.value.kind, err.value.reason) == (HttpFailure.UNREACHABLE, "Connection refused")


@pytest.mark.parametrize("bad", ["ftp://127.0.0.1/", "127.0.0.1/x", "http://user@127.0.0.1/", "http:///x",
                                 "http://127.0.0.1:99999/"])
def test_unusable_urls(bad):
    with pytest.raises(HttpFailure) as err:
        client().exchange("GET", bad, None, Deadline(Clock(), 1))
    assert err.value.kind == HttpFailure.BAD_URL


def test_https_through_a_proxy_tunnel_with_credentials(tls_files):
    cert, key, ca = tls_files
    auth = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    with SlowPeer(ANSWER, tls=(cert, key)) as peer, HttpProxy(require_auth=auth) as proxy:
        http = client(verify=str(ca), proxy=proxy.url.replace("http://", "http://ops:s3cret@"))
        assert http.route(peer.url()) == proxy.url  # the password is never shown
        for _i in range(2):
            assert http.exchange("GET", peer.url("/dir"), None, Deadline(Clock(), 5)).status == 200
        http.close()
    assert proxy.seen == [("CONNECT", "127.0.0.1:%d" % peer.port, auth)]  # one tunnel, kept alive
    assert peer.heads[0].startswith(b"GET /dir HTTP/1.1")


def test_a_proxy_refusing_the_tunnel_is_named(tls_files):
    cert, key, ca = tls_files
    with SlowPeer(ANSWER, tls=(cert, key)) as peer, HttpProxy(require_auth="Basic nope") as proxy:
        with pytest.raises(HttpFailure) as err:
            client(verify=str(ca), proxy=proxy.url).exchange("GET", peer.url(), None, Deadline(Clock(), 5))
    assert err.value.kind == HttpFailure.PROXY
    assert err.value.reason == "proxy %s answered HTTP 407 to CONNECT 127.0.0.1:%d" % (proxy.url, peer.port)


def test_plain_http_through_a_proxy_uses_the_absolute_form():
    with SlowPeer(ANSWER) as peer, HttpProxy() as proxy:
        reply = client(proxy=proxy.url).exchange("GET", peer.url("/ocsp/MEow"), None, Deadline(Clock(), 5))
    assert reply.status == 200 and proxy.seen[0][:2] == ("GET", peer.url("/ocsp/MEow"))


def test_the_environment_names_the_proxy_once_per_origin(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://env-proxy.test:3128")
    monkeypatch.setenv("no_proxy", "direct.test")
    http = HttpClient()
    assert http.route("http://ocsp.test/x") == "http://env-proxy.test:3128"
    assert http.route("http://direct.test/x") is None
    assert HttpClient(trust_env=False).route("http://ocsp.test/x") is None


@pytest.mark.parametrize("bad", ["https://proxy.test:3128", "socks5://proxy.test:1080", "http://:3128"])
def test_unusable_proxies_are_config_errors(bad):
    with pytest.raises(ConfigError, match="is not an http://host:port URL"):
        HttpClient(proxy=bad)
