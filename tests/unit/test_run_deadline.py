"""A run's own deadline (run_timeout): the wait for the store lock counts against it, orders due
after it are left for the next run, stapling exchanges end within it; all by the injected clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mdcore import cli
from mdcore.clock import Deadline, FakeClock
from mdcore.config import MdConfig
from mdcore.errors import ConfigError, DeadlineExceeded, StoreLockedError
from mdcore.hostconfig import parse_host_config
from mdcore.manager import Action, MdResult, drive_many
from mdcore.ocsp import StapleAction, StapleTarget, StaplingConfig, refresh_staples
from mdcore.store import Store

from .helpers import FakeNet


def test_the_lock_wait_is_cut_to_what_the_run_has(tmp_path, clock: FakeClock) -> None:
    cfg = parse_host_config({"store": str(tmp_path / "store"), "lock_wait": 600, "run_timeout": 45, "domains": []})
    store = Store(cfg.store, clock).setup()
    started = clock.monotonic()
    with store.lock(0):  # another run holds the store
        with pytest.raises(StoreLockedError, match="locked by another mdfleet run"):
            cli.run(cfg, clock)
    assert 44 <= clock.monotonic() - started <= 45  # not the 600 s of lock_wait


def test_orders_and_staples_share_the_run() -> None:
    clock = FakeClock()
    orders, staples = cli.run_deadlines(Deadline(clock, 1680))
    assert (orders.seconds, staples.seconds) == (1680 - cli.RUN_RESERVE, 1680)
    orders, staples = cli.run_deadlines(Deadline(clock, 100))  # short runs keep a tenth
    assert (orders.seconds, staples.seconds) == (90, 100)


def test_an_order_due_after_the_run_deadline_waits_for_the_next_run(
    run_md: Callable[..., MdResult], make_cfg: Callable[..., MdConfig], store: Store, clock: FakeClock,
    net: FakeNet,
) -> None:
    done = make_cfg(["done.example"])
    run_md(done)
    due = make_cfg(["due.example"])
    requests_before = net.total()
    spent = Deadline(clock, 10)
    clock.advance(11)
    idle, left = drive_many(store, [done, due], clock, transport_factory=net.transport, deadline=spent)
    assert isinstance(idle, MdResult) and idle.action == Action.NONE  # nothing due: no error
    assert isinstance(left, DeadlineExceeded) and "due.example not ordered: the run's time" in str(left)
    assert net.total() == requests_before  # no CA was asked
    job = store.read_job("due.example")
    assert job.errors == 0 and job.next_retry is None  # no backoff: nothing failed


def test_an_order_never_outlasts_the_run(
    run_md: Callable[..., MdResult], make_cfg: Callable[..., MdConfig], store: Store, clock: FakeClock,
    net: FakeNet, fake_ca,
) -> None:
    fake_ca.webroot = store.challenges_dir
    fake_ca.stuck_processing = True
    [res] = drive_many(store, [make_cfg(["stuck.example"], order_timeout=300)], clock,
                       transport_factory=net.transport, deadline=Deadline(clock, 40))
    assert isinstance(res, DeadlineExceeded) and "deadline" in str(res)
    assert clock.monotonic() <= 1000 + 40  # FakeClock starts at 1000: the run's 40 s, not 300


def test_staples_not_asked_after_the_run_deadline(tmp_path, clock: FakeClock) -> None:
    from peers.ocsp_pki import OcspTestCA

    pki = OcspTestCA(str(tmp_path / "pki"))
    leaf = pki.issue("late.example", "http://ocsp.test/")
    store = Store(str(tmp_path / "store"), clock).setup()
    spent = Deadline(clock, 1)
    clock.advance(2)
    target = StapleTarget(cert_path=leaf.cert_path, issuer_path=leaf.chain_path)
    [res] = refresh_staples(store, [target], clock, config=StaplingConfig(workers=1), transport=None,
                            deadline=spent)
    assert res.action == StapleAction.FAILED and res.error.startswith("not asked: the run's time")


@pytest.mark.parametrize("value", [0, -5, "soon", float("inf")])
def test_run_timeout_must_be_a_positive_number(tmp_path, value) -> None:
    with pytest.raises(ConfigError, match="run_timeout"):
        parse_host_config({"store": str(tmp_path), "run_timeout": value, "domains": []})


def test_a_run_staples_with_the_stapling_workers_not_the_order_workers(tmp_path, clock, monkeypatch) -> None:
    seen: list[int] = []

    def refresh(store, targets, clock, *, config, deadline):
        seen.append(config.workers)
        return []

    monkeypatch.setattr(cli, "refresh_staples", refresh)
    for stapling, want in (({}, 16), ({"workers": 2}, 2)):
        cfg = parse_host_config({"store": str(tmp_path / "store"), "workers": 4, "domains": [], "stapling": stapling})
        cli.run(cfg, clock, acme=False)
        assert seen.pop() == want
