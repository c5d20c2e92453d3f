"""CAs that trickle or never answer, as real peers on loopback (tests/peers/slow_peer.py), beside a
working (fake) CA in the same run: each ends at its deadline with an error naming the peer, the
account registration of one CA does not hold up the others, every other domain is issued, and
the store lock is free again afterwards."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mdcore.acme.transport import AcmeTransport, TransportOptions
from mdcore.clock import Clock
from mdcore.config import CaConfig, MdConfig
from mdcore.errors import DeadlineExceeded, MdError
from mdcore.manager import MdResult, ensure_many, ensure_md
from mdcore.net import HttpClient
from mdcore.store import Store
from peers.slow_peer import DRIP, SILENT, SlowPeer, SteppingClock

from .fakeacme import FakeAcme
from .helpers import FakeNet

MakeCfg = Callable[..., MdConfig]


def factory(net: FakeNet) -> Callable:
    """The fake CA(s) through their fake HTTP, every other CA through the real HTTP client."""

    def make(ca: CaConfig, cfg: MdConfig, clock: Clock) -> AcmeTransport:
        if ca.url in net.cas:
            return net.transport(ca, cfg, clock)
        opts = TransportOptions(verify=True, request_timeout=cfg.request_timeout)
        return AcmeTransport(ca.url, clock, opts, http=HttpClient(trust_env=False))

    return make


def test_a_trickling_ca_ends_at_the_order_deadline_and_the_others_are_issued(
    tmp_path, fake_ca: FakeAcme, make_cfg: MakeCfg
) -> None:
    clock = SteppingClock()
    fake_ca.clock = clock
    store = Store(str(tmp_path / "store"), clock)
    fake_ca.webroot = store.challenges_dir
    net = FakeNet(fake_ca)
    with SlowPeer(DRIP, step=clock.drip_step) as drip:  # a byte every 2 s of the injected clock
        cfgs = [make_cfg(["drip.example"], acme_directory=drip.url("/dir"), order_timeout=20,
                         request_timeout=30),
                make_cfg(["ok1.example"]), make_cfg(["ok2.example"])]
        results = ensure_many(store, cfgs, clock, workers=3, transport_factory=factory(net))
    failed, *issued = results
    assert isinstance(failed, DeadlineExceeded), failed
    # the order's 20 s bound the exchange (request_timeout is 30 s), the whole answer included
    assert str(failed).startswith("GET %s: answer not complete within 20s (" % drip.url("/dir"))
    assert "the peer sends too slowly" in str(failed)
    assert all(isinstance(r, MdResult) and r.changed for r in issued), issued
    job = store.read_job("drip.example")
    assert job.errors == 1 and "answer not complete" in job.last_error.message
    with store.lock(0):  # free again: the run did not hang on to it
        pass


def test_a_never_answering_ca_is_asked_once_for_all_its_domains(
    tmp_path, fake_ca: FakeAcme, make_cfg: MakeCfg, clock, store: Store
) -> None:
    """A fresh store (no account yet): eight domains of a silent CA wait for one registration
    attempt and share its outcome, instead of trying one after the other; two domains of a
    working CA are issued in the same run."""
    fake_ca.webroot = store.challenges_dir
    net = FakeNet(fake_ca)
    with SlowPeer(SILENT) as silent:
        cfgs = [make_cfg(["s%d.example" % i], acme_directory=silent.url("/dir"), request_timeout=0.3)
                for i in range(8)]
        cfgs += [make_cfg(["ok1.example"]), make_cfg(["ok2.example"])]
        results = ensure_many(store, cfgs, Clock(), workers=8, transport_factory=factory(net))
        heads = list(silent.heads)
    failures, issued = results[:8], results[8:]
    assert all(isinstance(r, DeadlineExceeded) for r in failures), failures
    assert {str(r) for r in failures} == {"GET %s: no answer within 0.3s" % silent.url("/dir")}
    assert len(heads) == 1  # one directory request for the eight domains: not one each, in a row
    assert all(isinstance(r, MdResult) and r.changed for r in issued), issued
    for i in range(8):
        assert store.read_job("s%d.example" % i).errors == 1


def test_a_trickling_ca_does_not_keep_the_store_lock(tmp_path, make_cfg: MakeCfg) -> None:
    clock = SteppingClock()
    store = Store(str(tmp_path / "store"), clock)
    with SlowPeer(DRIP, step=clock.drip_step) as drip:
        cfg = make_cfg(["drip.example"], acme_directory=drip.url("/dir"), order_timeout=8)
        with pytest.raises(MdError, match="answer not complete within 8s"):
            ensure_md(store, cfg, clock, transport_factory=factory(FakeNet()), lock_wait=0)
    with store.lock(0):
        pass
