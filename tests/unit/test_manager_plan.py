"""ensure_md: when to order (and when not to contact any CA), check mode, results and events."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import asdict

import pytest

from mdcore.clock import FakeClock, from_iso
from mdcore.config import MdConfig
from mdcore.manager import Action, MdResult, Reason, ensure_md
from mdcore.store import Store

from .fakeacme import FakeAcme
from .helpers import RecordingEvents, tree

Run = Callable[..., MdResult]
MakeCfg = Callable[..., MdConfig]


def test_first_run_orders_second_contacts_no_ca(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    first = run_md(make_cfg(["www.example.org", "example.org"]))
    assert first.action == Action.ORDER and first.changed and first.reasons == [Reason.NO_CERT]
    cert = first.certificates["p256"]
    assert sorted(cert["names"]) == ["example.org", "www.example.org"]
    assert cert["fullchain_path"] == os.path.join(
        store.active_dir("www.example.org"), "p256", "fullchain.pem"
    )
    assert os.path.isfile(cert["key_path"]) and "PRIVATE KEY" not in repr(asdict(first))  # paths, never keys
    assert first.order_urls["p256"].startswith(fake_ca.base + "/order/")
    assert first.renew_at is not None
    assert set(cert) >= {"serial", "sha256_fingerprint", "issuer", "not_before", "not_after"}

    before = len(fake_ca.seen)
    second = run_md(make_cfg(["example.org", "www.example.org"], name="www.example.org"))
    assert second.action == Action.NONE and not second.changed and second.reasons == []
    assert len(fake_ca.seen) == before  # nothing to do: no request at all
    assert second.certificates["p256"]["serial"] == cert["serial"]
    assert second.renew_at == first.renew_at


def test_names_changed(run_md: Run, make_cfg: MakeCfg) -> None:
    run_md(make_cfg(["www.example.org"]))
    result = run_md(make_cfg(["www.example.org", "shop.example.org"]))
    assert result.action == Action.ORDER and Reason.NAMES_CHANGED in result.reasons
    assert sorted(result.certificates["p256"]["names"]) == ["shop.example.org", "www.example.org"]


def test_key_type_added_orders_only_the_new_one(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme) -> None:
    """Adding a key type used to re-issue the existing certificates as well."""
    first = run_md(make_cfg())
    orders = fake_ca.count("newOrder")
    result = run_md(make_cfg(key_types=["p256", "p384"]))
    assert result.reasons == [Reason.KEYS_ADDED] and result.changed
    assert sorted(result.certificates) == ["p256", "p384"]
    assert fake_ca.count("newOrder") == orders + 1  # p384 only
    assert result.certificates["p256"]["serial"] == first.certificates["p256"]["serial"]
    assert result.order_urls["p256"] == first.order_urls["p256"]


def test_reordered_key_types_are_no_change(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme) -> None:
    """[rsa2048, p256] after [p256, rsa2048] used to re-issue every certificate."""
    first = run_md(make_cfg(key_types=["p256", "rsa2048"]))
    orders = fake_ca.count("newOrder")
    again = run_md(make_cfg(key_types=["rsa2048", "p256"]))
    assert again.action == Action.NONE and not again.changed and fake_ca.count("newOrder") == orders
    assert {kt: c["serial"] for kt, c in again.certificates.items()} == \
        {kt: c["serial"] for kt, c in first.certificates.items()}


def test_key_type_removed_needs_no_ca(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store) -> None:
    first = run_md(make_cfg(key_types=["p256", "rsa2048"]))
    requests_before = len(fake_ca.seen)
    result = run_md(make_cfg(key_types=["p256"]))
    assert result.reasons == [Reason.KEYS_REMOVED] and result.changed
    assert list(result.certificates) == ["p256"] and len(fake_ca.seen) == requests_before
    assert result.certificates["p256"]["serial"] == first.certificates["p256"]["serial"]
    assert store.active_set(first.md).key_types == ["p256"]
    assert not os.path.exists(os.path.join(store.active_dir(first.md), "rsa2048"))
    assert (os.stat(result.certificates["p256"]["key_path"]).st_mode & 0o777) == 0o600


def test_renew_window(run_md: Run, make_cfg: MakeCfg, clock: FakeClock, fake_ca: FakeAcme) -> None:
    first = run_md(make_cfg())
    renew_at = from_iso(first.renew_at)
    assert renew_at is not None
    expected = from_iso(first.certificates["p256"]["not_after"]) - datetime.timedelta(days=90) * 0.33
    assert abs((renew_at - expected).total_seconds()) <= 1
    clock.advance((renew_at - clock.now()).total_seconds() - 60)
    posts = fake_ca.count(method="POST")
    assert run_md(make_cfg()).action == Action.NONE
    assert fake_ca.count(method="POST") == posts  # no account/order activity (an ARI probe is a GET)
    clock.advance(120)
    result = run_md(make_cfg())
    assert result.reasons == [Reason.RENEW_WINDOW]
    assert result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]


def test_duration_renew_window(run_md: Run, make_cfg: MakeCfg) -> None:
    first = run_md(make_cfg(renew_window="30d"))
    renew_at, not_after = from_iso(first.renew_at), from_iso(first.certificates["p256"]["not_after"])
    assert renew_at is not None and not_after is not None
    assert not_after - renew_at == datetime.timedelta(days=30)


def test_force(run_md: Run, make_cfg: MakeCfg) -> None:
    run_md(make_cfg())
    assert run_md(make_cfg(), force=True).reasons == [Reason.FORCED]


def test_ca_changed(run_md: Run, make_cfg: MakeCfg, net, clock: FakeClock, test_ca) -> None:
    run_md(make_cfg())
    other = FakeAcme(clock, test_ca, "https://ca2.test")
    net.cas[other.directory_url] = other
    result = run_md(make_cfg(acme_directory=other.directory_url))
    assert Reason.CA_CHANGED in result.reasons and other.count("newOrder") == 1


def test_check_mode_does_not_touch_the_store(
    run_md: Run, make_cfg: MakeCfg, store: Store, fake_ca: FakeAcme
) -> None:
    run_md(make_cfg())
    snapshot, before = tree(store.root), len(fake_ca.seen)
    planned = run_md(make_cfg(["www.example.org", "new.example.org"]), check_mode=True)
    assert planned.action == Action.ORDER and planned.changed
    assert planned.reasons == [Reason.NAMES_CHANGED]
    assert planned.certificates["p256"]["names"] == ["www.example.org"]  # still the current set
    forced = run_md(make_cfg(), check_mode=True, force=True)
    assert forced.changed and forced.reasons == [Reason.FORCED]
    assert tree(store.root) == snapshot
    assert len(fake_ca.seen) == before


def test_check_mode_without_a_store(tmp_path, make_cfg: MakeCfg, clock: FakeClock, net) -> None:
    store = Store(str(tmp_path / "absent"), clock)
    result = ensure_md(store, make_cfg(), clock, check_mode=True, transport_factory=net.transport)
    assert result.action == Action.ORDER and result.changed
    assert not os.path.exists(store.root)


def test_events(run_md: Run, make_cfg: MakeCfg) -> None:
    events = RecordingEvents()
    run_md(make_cfg(["www.example.org", "example.org"]), events=events)
    assert events.fired[0] == ("renewing", "www.example.org")
    assert "challenge-setup:http-01:www.example.org" in events.names()
    assert "challenge-setup:http-01:example.org" in events.names()
    assert events.fired[-1] == ("renewed", "www.example.org")


def test_renewing_veto_postpones(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store) -> None:
    events = RecordingEvents(veto=("renewing",))
    result = run_md(make_cfg(), events=events)
    assert result.action == Action.POSTPONED and not result.changed
    assert fake_ca.seen == []
    assert events.names() == ["renewing"]
    assert store.active_set("www.example.org") is None


@pytest.mark.parametrize("key_types", [["p256", "rsa2048"], ["p384", "rsa3072"]])
def test_several_key_types(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, key_types: list[str]) -> None:
    result = run_md(make_cfg(key_types=key_types))
    assert sorted(result.certificates) == sorted(key_types)
    assert fake_ca.count("newOrder") == 2 and fake_ca.count("newNonce") == 1
    serials = {c["serial"] for c in result.certificates.values()}
    assert len(serials) == 2


def test_an_idle_run_reads_the_set_and_the_job_once(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock: FakeClock, net, monkeypatch
) -> None:
    """Nothing due (ARI on): the config snapshot, ARI, the plan and the result share one read of
    set.json and of the job file (they read each three or four times); the same Store reads the
    unchanged set.json no more."""
    import mdcore.store as store_module
    import mdcore.storeread as storeread_module

    cfg = make_cfg(["www.example.org"], ari=True)
    run_md(cfg)
    fresh = Store(store.root, clock, challenges_dir=store.challenges_dir)  # as a new run's process
    reads: list[str] = []

    def counting(real):
        def read(path, *args):
            reads.append(os.path.basename(path))
            return real(path, *args)
        return read

    for module in (store_module, storeread_module):  # the writer and the read side (storeread.py) it inherits
        monkeypatch.setattr(module, "read_state", counting(module.read_state))
    monkeypatch.setattr(storeread_module, "read_with_identity", counting(storeread_module.read_with_identity))
    before = len(fake_ca.seen)
    result = ensure_md(fresh, cfg, clock, transport_factory=net.transport, lock_wait=1)
    assert result.action == Action.NONE and not result.changed and result.certificates
    assert len(fake_ca.seen) == before
    assert reads.count("set.json") == 1 and reads.count("www.example.org.json") == 1
    assert fresh.active_set("www.example.org") == fresh.active_set("www.example.org")
    assert reads.count("set.json") == 1
