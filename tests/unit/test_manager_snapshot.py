"""Where a run writes each domain's config snapshot (the job's ``config``): a domain the pool
orders writes it in its worker thread, in parallel with the others (a new store of 100 domains
spent 200 fsyncs in a row before its first order); a domain that stays in the planning thread
writes it there; a domain whose plan fails still gets it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from mdcore.clock import FakeClock
from mdcore.config import MdConfig
from mdcore.manager import Action, MdResult, config_snapshot, drive_many
from mdcore.store import Store

from .helpers import FakeNet


def test_ordered_domains_write_their_snapshot_in_the_pool(
    make_cfg: Callable[..., MdConfig], store: Store, clock: FakeClock, net: FakeNet, fake_ca, monkeypatch,
) -> None:
    fake_ca.webroot = store.challenges_dir
    saved: list[tuple[str, bool]] = []
    real = store.save_job
    monkeypatch.setattr(store, "save_job", lambda job: (saved.append(
        (job.md, threading.current_thread() is threading.main_thread())), real(job)))
    cfgs = [make_cfg(["a.example"]), make_cfg(["b.example"])]
    results = drive_many(store, cfgs, clock, transport_factory=net.transport)
    assert all(isinstance(r, MdResult) and r.action == Action.ORDER and r.changed for r in results), results
    assert {md for md, _main in saved} == {"a.example", "b.example"}
    assert not [md for md, main in saved if main]  # nothing written before the orders began
    for cfg in cfgs:
        assert store.read_job(cfg.name).config == config_snapshot(cfg)

    saved.clear()
    changed = [make_cfg(["a.example"], renew_window="40%"), make_cfg(["b.example"])]
    again = drive_many(store, changed, clock, transport_factory=net.transport)
    assert [r.action for r in again] == [Action.NONE, Action.NONE]  # nothing due: the planning thread
    assert saved == [("a.example", True)]  # only the changed snapshot, written there
    assert store.read_job("a.example").config == config_snapshot(changed[0])


def test_a_domain_whose_plan_fails_still_gets_its_snapshot(
    make_cfg: Callable[..., MdConfig], store: Store, clock: FakeClock, net: FakeNet, monkeypatch,
) -> None:
    from mdcore import manager
    from mdcore.errors import StoreError

    def broken(*_args, **_kw):
        raise StoreError("cannot read the active set of broken.example: a test")

    monkeypatch.setattr(manager, "active_or_damage", broken)
    cfg = make_cfg(["broken.example"])
    [res] = drive_many(store, [cfg], clock, transport_factory=net.transport)
    assert isinstance(res, StoreError)
    job = store.read_job("broken.example")
    assert job.config == config_snapshot(cfg) and job.errors == 1
