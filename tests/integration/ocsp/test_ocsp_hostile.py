"""Hostile and broken responders over real HTTP (the scriptable responder, in a private network
namespace): each answer is rejected with a clear reason and the stored good response stays."""

from __future__ import annotations

import datetime
import time

import pytest

from mdcore.clock import Clock
from mdcore.ocsp import (
    OcspStatus,
    StapleAction,
    StapleTarget,
    StaplingConfig,
    refresh_staples,
    staple_state_of_file,
)
from mdcore.store import Store
from peers.ocsp_fault_responder import Fault

from .util import read

SECOND = datetime.timedelta(seconds=1)

CASES = [
    (Fault.GARBAGE, "do not parse as DER OCSPResponse"),
    (Fault.HTTP_500, "answered HTTP 500"),
    (Fault.WRONG_KEY, "signature does not verify with the key of the issuer"),
    (Fault.ROGUE_DELEGATE, "whose certificate the issuer did not sign"),
    (Fault.DELEGATE_NO_EKU, "without id-kp-OCSPSigning"),
    (Fault.OTHER_CERT, "response is for another certificate"),
    (Fault.EXPIRED, "response expired: nextUpdate"),
    (Fault.FUTURE, "lies in the future"),
    (Fault.NO_NEXT_UPDATE, "no nextUpdate"),
    (Fault.TRY_LATER, "responder answered 'tryLater'"),
    (Fault.UNKNOWN, "answered 'unknown'"),
    (Fault.OLDER, "older than the stored one"),
    (Fault.HANG, "did not answer within 1.5s"),
]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("mode, reason", CASES, ids=[c[0] for c in CASES])
def test_hostile_answer_rejected_and_good_kept(tmp_path, pki, fault, web, mode, reason, method):
    leaf = pki.issue("hostile.test", fault.url)
    pki.issue("bystander.test", fault.url)
    store = Store(str(tmp_path / "store"), Clock()).setup()
    target = StapleTarget(cert_path=leaf.cert_path, issuer_path=leaf.chain_path,
                          staple_file=str(web / "h.der"))
    config = StaplingConfig(timeout=1.5, method=method)
    [good] = refresh_staples(store, [target], Clock(), config=config)
    assert good.status == OcspStatus.GOOD and good.action == StapleAction.FETCHED
    staple, before = read(web / "h.der"), staple_state_of_file(store, leaf.cert_path)

    later = good.refresh_at + SECOND  # inside the refresh window: the responder answers "at" that time
    fault.mode, fault.now = mode, lambda: later
    started = time.monotonic()
    [res] = refresh_staples(store, [target], Clock(), now=later, config=config)
    elapsed = time.monotonic() - started
    assert res.action == StapleAction.FAILED and reason in res.error, res.error
    assert res.status == OcspStatus.GOOD and res.this_update == good.this_update
    assert read(web / "h.der") == staple
    state = staple_state_of_file(store, leaf.cert_path)
    assert state.last_error == res.error and state.errors == 1 and state.next_retry is not None
    assert state.response == before.response and state.response_sha256 == before.response_sha256
    assert elapsed < 5, "the deadline bounds every exchange"
    assert fault.requests[-1] == mode and fault.user_agents[-1].startswith("mdfleet.md/")


class ForwardProxy:
    """A minimal HTTP forward proxy (absolute-URI requests) that counts what it forwards."""

    def __init__(self):
        import http.server
        import threading
        import urllib.request

        proxy = self
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                proxy.seen.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "user-agent")}
                req = urllib.request.Request(self.path, data=body, headers=headers, method=self.command)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    with opener.open(req, timeout=5) as resp:
                        status, payload = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode, reason", [(Fault.TRUTH, None), (Fault.HTTP_500, "answered HTTP 500"),
                                          (Fault.GARBAGE, "do not parse"), (Fault.HANG, "did not answer within")])
def test_through_a_proxy(tmp_path, pki, fault, web, mode, reason):
    """The configured proxy is used (requests-based transport), with the same checks and deadline."""
    proxy = ForwardProxy()
    try:
        leaf = pki.issue("proxied.test", fault.url)
        store = Store(str(tmp_path / "store"), Clock()).setup()
        target = StapleTarget(cert_path=leaf.cert_path, issuer_path=leaf.chain_path,
                              staple_file=str(web / "p.der"))
        fault.mode = mode
        started = time.monotonic()
        [res] = refresh_staples(store, [target], Clock(), config=StaplingConfig(timeout=1.5, proxy=proxy.url))
        assert time.monotonic() - started < 5
        assert proxy.seen and proxy.seen[-1].startswith(fault.url)
        if reason is None:
            assert res.status == OcspStatus.GOOD and res.error is None
            assert fault.user_agents[-1].startswith("mdfleet.md/")
        else:
            assert res.action == StapleAction.FAILED and reason in res.error, res.error
    finally:
        proxy.close()
