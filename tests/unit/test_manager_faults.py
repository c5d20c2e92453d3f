"""Faults of the store around a renewal: a damaged active set is reported (errored event) and
replaced, a corrupt account key is an error that names it and is never replaced silently, a
corrupt account.json is rebuilt from the key, a corrupt staged key is set aside, a full disk fails
the job's write too without a traceback, and a bug in one domain never stops the others."""

from __future__ import annotations

import os

import pytest

from mdcore.acme.account import AccountStore
from mdcore.errors import MdError, StoreError
from mdcore.events import EventName
from mdcore.manager import Reason, drive_many
from mdcore.state.fields import CorruptStateError
from mdcore.state.order import OrderState

from .helpers import RecordingEvents

MD = "www.example.org"


def test_a_damaged_key_is_reported_and_replaced(run_md, make_cfg, store) -> None:
    first = run_md(make_cfg())
    key = os.path.join(store.active_dir(MD), "p256", "privkey.pem")
    with open(key, "ab") as handle:
        handle.write(b"garbage")
    events = RecordingEvents()
    result = run_md(make_cfg(), events=events)
    assert result.changed and Reason.DAMAGED in result.reasons and result.valid
    assert result.damage == "%s is not the file activated with the set (damaged)" % key
    assert (EventName.ERRORED, MD) in events.fired and (EventName.RENEWED, MD) in events.fired
    assert result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]
    assert store.damage(MD, store.active_set(MD)) is None


def _hashes_of_sets(store, monkeypatch) -> list[str]:
    """The sets whose files Store.damage hashes from now on (the others it only looks at)."""
    hashed: list[str] = []
    real = store._hash_check

    def counting(folder, shown, cert_set):
        hashed.append(cert_set.md)
        return real(folder, shown, cert_set)

    monkeypatch.setattr(store, "_hash_check", counting)
    return hashed


def test_an_active_set_is_hashed_again_only_when_its_files_changed_or_a_day_passed(
        run_md, make_cfg, store, clock, monkeypatch) -> None:
    run_md(make_cfg())
    hashed = _hashes_of_sets(store, monkeypatch)
    assert run_md(make_cfg()).action == "none" and hashed == []  # verified.json: same files, hashed before
    clock.advance(86400)
    run_md(make_cfg())
    assert hashed == [MD]


def test_a_damaged_file_of_the_same_size_is_found(run_md, make_cfg, store, monkeypatch) -> None:
    """Bytes changed in place (size kept): its mtime and ctime say it was written, and it is hashed."""
    first = run_md(make_cfg())
    assert run_md(make_cfg()).damage is None
    cert = os.path.join(store.active_dir(MD), "p256", "cert.pem")
    with open(cert, "r+b") as handle:
        data = handle.read()
        handle.seek(100)
        handle.write(bytes([data[100] ^ 1]))
    result = run_md(make_cfg())
    assert result.damage == "%s is not the file activated with the set (damaged)" % cert
    assert result.changed and result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]


def test_a_damaged_file_whose_mtime_was_put_back_is_found(run_md, make_cfg, store) -> None:
    """touch -r cannot set ctime back: the file is hashed."""
    run_md(make_cfg())
    assert run_md(make_cfg()).damage is None
    key = os.path.join(store.active_dir(MD), "p256", "privkey.pem")
    before = os.stat(key)
    with open(key, "r+b") as handle:
        handle.seek(40)
        handle.write(b"A" if handle.read(1) != b"A" else b"B")
    os.utime(key, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert run_md(make_cfg()).damage == "%s is not the file activated with the set (damaged)" % key


def test_a_corrupt_verified_json_is_set_aside_and_every_set_hashed(run_md, make_cfg, store, monkeypatch) -> None:
    run_md(make_cfg())
    with open(store.path("verified.json"), "w") as handle:
        handle.write('{"version": 1, "sets": {"%s": 5}}' % MD)
    hashed = _hashes_of_sets(store, monkeypatch)
    result = run_md(make_cfg())
    assert result.action == "none" and result.damage is None and hashed == [MD]
    assert any("verified.json is corrupt" in note and "set aside" in note for note in store.notes)
    assert [n for n in os.listdir(store.root) if n.startswith("verified.json.corrupt-")]


def test_a_corrupt_set_json_is_never_guessed(run_md, make_cfg, store) -> None:
    run_md(make_cfg())
    with open(os.path.join(store.active_dir(MD), "set.json"), "w") as handle:
        handle.write("[1]")
    events = RecordingEvents()
    result = run_md(make_cfg(), events=events)
    assert result.changed and result.reasons == [Reason.DAMAGED]
    assert "set.json is corrupt: set.json must be a JSON object, not a list" in result.damage
    assert events.names()[:2] == [EventName.ERRORED, EventName.RENEWING]


def test_a_corrupt_account_key_is_an_error_naming_it(run_md, make_cfg, store, fake_ca, clock) -> None:
    run_md(make_cfg())
    accounts = AccountStore(store.path("accounts"))
    path = os.path.join(accounts.folder(fake_ca.directory_url, None), "account.key.pem")
    with open(path, "wb") as handle:
        handle.write(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    clock.advance(65 * 86400)  # due
    events = RecordingEvents()
    with pytest.raises(StoreError, match="account.key.pem is corrupt .*: the account key cannot be rebuilt, the "
                                         "ACME account is bound to it; restore it from a backup"):
        run_md(make_cfg(), events=events)
    assert (EventName.ERRORED, MD) in events.fired
    with open(path, "rb") as handle:
        assert b"AAAA" in handle.read()  # never replaced by a new key
    assert store.read_job(MD).errors == 1


def test_a_corrupt_account_json_is_rebuilt_from_its_key(run_md, make_cfg, store, fake_ca, clock) -> None:
    run_md(make_cfg())
    accounts = AccountStore(store.path("accounts"))
    before = accounts.load(fake_ca.directory_url, None)
    with open(accounts.info_path(fake_ca.directory_url, None), "w") as handle:
        handle.write('{"url": 5}')
    result = run_md(make_cfg(), force=True)
    assert result.changed
    after = accounts.load(fake_ca.directory_url, None)
    assert after is not None and after[1].thumbprint() == before[1].thumbprint()
    folder = accounts.folder(fake_ca.directory_url, None)
    assert [n for n in os.listdir(folder) if n.startswith("account.json.corrupt-")]
    assert any("account.json is corrupt" in n and "set aside as account.json.corrupt-" in n and
               "found again with its key" in n for n in store.notes), store.notes  # the run says so


def test_a_corrupt_staged_key_is_set_aside(run_md, make_cfg, store) -> None:
    store.begin_staging(OrderState(MD, [MD], ["p256"], make_cfg().cas[0].url))
    os.makedirs(os.path.join(store.staging_dir(MD), "p256"))
    with open(os.path.join(store.staging_dir(MD), "p256", "privkey.pem"), "w") as handle:
        handle.write("-----BEGIN PRIVATE KEY-----\npartial")
    result = run_md(make_cfg())
    assert result.changed and any("privkey.pem is corrupt: not a private key" in n for n in store.notes)
    archived = os.listdir(os.path.join(store.active_folder(MD), "p256"))
    assert sorted(archived) == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]


def test_a_full_disk_fails_the_failure_record_too_in_one_line(run_md, make_cfg, store, monkeypatch) -> None:
    from mdcore import issuance
    from mdcore.errors import NetworkError

    first = run_md(make_cfg())

    def full(*_args, **_kwargs):
        raise StoreError("cannot write %s: No space left on device" % store.job_path(MD))

    def ca_down(*_args, **_kwargs):
        raise NetworkError("ca.test did not answer")

    monkeypatch.setattr(store, "save_job", full)
    with monkeypatch.context() as patch:
        patch.setattr(issuance, "obtain", ca_down)
        with pytest.raises(StoreError, match="ca.test did not answer; the failure could not be recorded either: "
                                             "cannot write .*No space left on device"):
            run_md(make_cfg(), force=True)
    assert store.active_set(MD).certs["p256"].serial == first.certificates["p256"]["serial"]  # the old set stays
    # an order that succeeds but cannot record it: the new set is active, its events are still owed
    with pytest.raises(StoreError, match="jobs/www.example.org.json: No space left on device"):
        run_md(make_cfg(), force=True)
    active = store.active_set(MD)
    assert active.certs["p256"].serial != first.certificates["p256"]["serial"]
    (owed,) = store.pending_installs()
    assert owed.set_id == active.set_id and set(owed.events) == {EventName.RENEWED, EventName.INSTALLED}


def test_a_bug_in_one_domain_never_stops_the_others(store, make_cfg, clock, net, monkeypatch) -> None:
    from mdcore import manager

    real = manager.plan_md

    def buggy(store_, cfg, *args, **kwargs):
        if cfg.name == "bad.example.org":
            raise KeyError("certs")
        return real(store_, cfg, *args, **kwargs)

    monkeypatch.setattr(manager, "plan_md", buggy)
    store.setup()
    results = drive_many(store, [make_cfg(["bad.example.org"]), make_cfg(["good.example.org"])], clock,
                         transport_factory=net.transport)
    assert isinstance(results[0], MdError) and str(results[0]).startswith(
        "internal error while handling bad.example.org: KeyError: 'certs'")
    assert results[1].changed and results[1].valid


def test_corrupt_state_errors_name_the_file(store) -> None:
    with open(store.job_path(MD), "w") as handle:
        handle.write("{")
    with pytest.raises(CorruptStateError, match=r"jobs/www.example.org.json is corrupt: not JSON"):
        store.read_job(MD)


def test_a_corrupt_order_in_staging_is_set_aside(run_md, make_cfg, store) -> None:
    os.makedirs(store.staging_dir(MD))
    with open(os.path.join(store.staging_dir(MD), "order.json"), "w") as handle:
        handle.write('{"md": 5}')
    result = run_md(make_cfg())
    assert result.changed and result.valid
    assert any("order.json is corrupt" in n and "set aside as order.json.corrupt-" in n for n in store.notes)
    assert not [n for n in os.listdir(store.active_folder(MD)) if ".corrupt-" in n]  # never archived


def test_a_corrupt_staple_book_fails_no_renewal_with_stapling_off(run_md, make_cfg, store, clock) -> None:
    """The plan asks the staple book whether a certificate was found revoked: a book that does not
    read knows of none (it held responses only). Every renewal failed on it before, for good when
    no stapling step ever set it aside."""
    first = run_md(make_cfg())
    os.makedirs(store.path("ocsp"), exist_ok=True)
    with open(store.path("ocsp", "staples.json"), "w") as handle:
        handle.write("{}")
    clock.advance(65 * 86400)  # due
    result = run_md(make_cfg())
    assert result.changed and result.valid and result.error is None
    assert result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]


def test_a_corrupt_order_of_a_domain_not_due_is_set_aside(run_md, make_cfg, store) -> None:
    """recover() (every locked run) sets a corrupt order.json aside, also when the domain is not
    due: it was kept unnoticed until the next order before."""
    run_md(make_cfg())
    os.makedirs(store.staging_dir(MD))
    with open(os.path.join(store.staging_dir(MD), "order.json"), "w") as handle:
        handle.write("[1]")
    result = run_md(make_cfg())
    assert not result.changed
    assert any("order.json is corrupt: order.json must be a JSON object" in n and
               "set aside as order.json.corrupt-" in n for n in store.notes), store.notes
    assert not os.path.exists(os.path.join(store.staging_dir(MD), "order.json"))


class Killed(Exception):
    """Stands for SIGKILL in the middle of a step (not an MdError: nothing handles it)."""


def test_a_staged_key_lost_after_finalizing_is_ordered_again(run_md, make_cfg, store, fake_ca,
                                                             monkeypatch) -> None:
    """A run dies after the CA issued the certificate for the staged key, and the staged key is
    then lost (corrupt): the resumed order's certificate is for a key nobody has. The run makes
    a new order for a new key in the same run instead of failing ('CA returned a certificate for
    another key') and backing off."""
    from mdcore import issuance

    first = run_md(make_cfg())
    real = issuance._write_chain

    def killed(*_args, **_kwargs):
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(issuance, "_write_chain", killed)
        with pytest.raises(Killed):
            run_md(make_cfg(), force=True)
    assert store.pending_order(MD).orders  # the finalized order is remembered
    key = os.path.join(store.staging_dir(MD), "p256", "privkey.pem")
    with open(key, "w") as handle:
        handle.write("-----BEGIN PRIVATE KEY-----\ntruncat")
    assert issuance._write_chain is real
    result = run_md(make_cfg())
    assert result.changed and result.valid and result.error is None, result
    assert Reason.RESUME in result.reasons
    assert result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]
    assert any("privkey.pem is corrupt: not a private key" in n for n in store.notes), store.notes
    assert store.read_job(MD).errors == 0


def test_a_folder_set_aside_in_staging_never_blocks_activation(run_md, make_cfg, store) -> None:
    """A folder where a staged certificate file must be is set aside; activation removed the set
    aside files with unlink, which failed on the folder at every later run (the sealed set never
    became active: 'recovery: Is a directory')."""
    run_md(make_cfg())
    store.begin_staging(OrderState(MD, [MD], ["p256"], make_cfg().cas[0].url))
    os.makedirs(os.path.join(store.staging_dir(MD), "p256", "fullchain.pem"))
    result = run_md(make_cfg())
    assert result.changed and result.valid and result.error is None, result
    assert any("fullchain.pem is corrupt: staged, but does not read (IsADirectoryError)" in n for n in store.notes)
    assert not os.path.exists(store.staging_dir(MD))
    assert sorted(os.listdir(os.path.join(store.active_folder(MD), "p256"))) == [
        "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]
