"""A run killed mid-renewal (simulated with a BaseException nothing catches) never leaves a mixed set
in domains/, and the next run finishes the work by resuming instead of ordering again."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable

import pytest

from mdcore.acme.problems import AcmeProblemError
from mdcore.certs import CertFacts, split_pem_chain
from mdcore.clock import FakeClock
from mdcore.config import MdConfig
from mdcore.manager import Action, MdResult, Reason
from mdcore.store import FULLCHAIN_FILE, Store

from .fakeacme import Crash, FakeAcme
from .helpers import tree

Run = Callable[..., MdResult]
MakeCfg = Callable[..., MdConfig]
MD = "www.example.org"
KEYS = ["p256", "rsa2048"]


@pytest.fixture
def renewal_due(run_md: Run, make_cfg: MakeCfg, clock: FakeClock, store: Store) -> MdResult:
    """An active two-key set, and the clock moved into its renew window."""
    first = run_md(make_cfg(key_types=KEYS))
    clock.advance(datetime.timedelta(days=65).total_seconds())
    return first


def _active_serials(store: Store) -> dict[str, str]:
    info = store.active_set(MD)
    assert info is not None
    for kt in info.key_types:  # complete: every file of every key type is there
        for name in ("privkey.pem", "cert.pem", "chain.pem", FULLCHAIN_FILE):
            assert os.path.isfile(os.path.join(store.active_dir(MD), kt, name))
    return {kt: c.serial for kt, c in info.certs.items()}


def _staged_serial(store: Store, kt: str) -> str:
    with open(os.path.join(store.staging_dir(MD), kt, FULLCHAIN_FILE), "rb") as handle:
        return CertFacts.of(split_pem_chain(handle.read())[0]).serial


def test_crash_between_key_types_then_resume(
    renewal_due: MdResult, run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    old = {kt: c["serial"] for kt, c in renewal_due.certificates.items()}
    old_domains = tree(store.path("domains"))
    fake_ca.inject("newOrder", lambda _seen: None, Crash())  # p256 ordered; killed at rsa2048's newOrder
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS))

    assert _active_serials(store) == old  # the old set, complete
    assert tree(store.path("domains")) == old_domains
    pending = store.pending_order(MD)
    assert pending is not None and list(pending.orders) == ["p256"]
    staged_p256 = _staged_serial(store, "p256")

    orders_before = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=KEYS))
    assert result.action == Action.ORDER
    assert Reason.RENEW_WINDOW in result.reasons and Reason.RESUME in result.reasons
    assert fake_ca.count("newOrder") - orders_before == 1  # rsa2048 only
    assert result.certificates["p256"]["serial"] == staged_p256
    assert all(result.certificates[kt]["serial"] != old[kt] for kt in KEYS)
    assert not os.path.exists(store.staging_dir(MD))


def test_crash_after_the_order_was_created_resumes_that_order(
    renewal_due: MdResult, run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    fake_ca.inject("finalize", lambda _seen: None, Crash())  # killed before rsa2048's finalize
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS))
    pending = store.pending_order(MD)
    assert pending is not None and sorted(pending.orders) == KEYS
    orders_before = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=KEYS))
    assert fake_ca.count("newOrder") == orders_before  # no new order at all
    assert result.order_urls == pending.orders


def test_crash_after_sealing_is_finished_by_recovery(
    renewal_due: MdResult,
    run_md: Run,
    make_cfg: MakeCfg,
    fake_ca: FakeAcme,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def killed(self: Store, md: str) -> str:
        raise Crash()

    monkeypatch.setattr(Store, "_finish_activation", killed)
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS))
    monkeypatch.undo()
    old = {kt: c["serial"] for kt, c in renewal_due.certificates.items()}
    assert _active_serials(store) == old

    posts = fake_ca.count(method="POST")
    result = run_md(make_cfg(key_types=KEYS))  # recover() activates the sealed set first
    assert result.action == Action.NONE
    assert fake_ca.count(method="POST") == posts  # nothing ordered again
    assert all(result.certificates[kt]["serial"] != old[kt] for kt in KEYS)


def test_changed_names_discard_a_stale_staging(
    renewal_due: MdResult, run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    fake_ca.inject("finalize", Crash())
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS))
    stale = store.pending_order(MD)
    assert stale is not None
    result = run_md(make_cfg(["www.example.org", "new.example.org"], name=MD, key_types=KEYS))
    assert sorted(result.certificates["p256"]["names"]) == ["new.example.org", "www.example.org"]
    assert set(result.order_urls.values()).isdisjoint(stale.orders.values())


def test_interrupted_forced_renewal_is_finished_by_the_next_plain_run(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    """Nothing else makes the domain due: the interrupted order itself is the reason to go on."""
    first = run_md(make_cfg(key_types=KEYS))
    fake_ca.inject("finalize", lambda _seen: None, Crash())  # killed before rsa2048's finalize
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS), force=True)
    pending = store.pending_order(MD)
    orders_before = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=KEYS))
    assert result.action == Action.ORDER and result.reasons == [Reason.RESUME]
    assert fake_ca.count("newOrder") == orders_before and result.order_urls == pending.orders
    assert all(result.certificates[kt]["serial"] != first.certificates[kt]["serial"] for kt in KEYS)
    assert not os.path.exists(store.staging_dir(MD))
    assert run_md(make_cfg(key_types=KEYS)).action == Action.NONE


def test_failed_validation_forgets_the_dead_order(
    renewal_due: MdResult, run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock
) -> None:
    """An invalid order is not 'resumed': the next attempt says why it orders and orders anew."""
    fake_ca.fail_validation = "Invalid response from http://www.example.org/.well-known/acme-challenge/x: 404"
    with pytest.raises(AcmeProblemError, match="Invalid response"):
        run_md(make_cfg(key_types=KEYS))
    pending = store.pending_order(MD)
    assert pending is not None and pending.orders == {}  # the key stays staged, the order URL goes
    fake_ca.fail_validation = None
    clock.advance(2 * 86400)  # past the backoff of a validation error
    orders_before = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=KEYS))
    assert result.action == Action.ORDER and Reason.RESUME not in result.reasons
    assert Reason.RENEW_WINDOW in result.reasons and fake_ca.count("newOrder") - orders_before == len(KEYS)


def test_interrupted_order_of_an_added_key_type_keeps_the_other(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    """Killed while ordering an added key type: the active set is untouched, and the next run
    finishes that one order, keeping the existing certificate."""
    first = run_md(make_cfg(key_types=["p256"]))
    fake_ca.inject("finalize", Crash())
    with pytest.raises(Crash):
        run_md(make_cfg(key_types=KEYS))
    assert store.active_set(MD).key_types == ["p256"]
    assert store.active_set(MD).certs["p256"].serial == first.certificates["p256"]["serial"]
    orders_before = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=KEYS))
    assert set(result.reasons) == {Reason.KEYS_ADDED, Reason.RESUME}
    assert fake_ca.count("newOrder") == orders_before  # the remembered rsa2048 order is resumed
    assert result.certificates["p256"]["serial"] == first.certificates["p256"]["serial"]
    assert sorted(result.certificates) == sorted(KEYS) and not os.path.exists(store.staging_dir(MD))
