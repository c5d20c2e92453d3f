"""Accounts: registration, reuse per CA (+EAB kid), terms of service, EAB, key rollover."""

from __future__ import annotations

import os
import stat

import pytest

from mdcore.acme.account import AccountOptions, AccountStore, ca_id, ensure_account, rollover_key
from mdcore.acme.problems import AcmeProblemError
from mdcore.acme.transport import AcmeTransport
from mdcore.clock import Deadline, FakeClock
from mdcore.errors import ConfigError
from mdcore.store import Store

from .fakeacme import FakeAcme, b64u
from .testca import TestCA

EAB_KEY = b"\x07" * 32


@pytest.fixture
def accounts(store: Store) -> AccountStore:
    return AccountStore(store.path("accounts"))


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_register_and_persist(
    fake_ca: FakeAcme, transport: AcmeTransport, accounts: AccountStore, deadline: Deadline
) -> None:
    ref, key = ensure_account(
        transport, accounts, AccountOptions(contact=("mailto:ops@example.org",)), deadline
    )
    assert ref.url in fake_ca.accounts
    assert fake_ca.payloads("newAccount") == [{"contact": ["mailto:ops@example.org"]}]
    folder = accounts.folder(fake_ca.directory_url, None)
    assert _mode(os.path.join(folder, "account.key.pem")) == 0o600
    assert _mode(os.path.join(folder, "account.json")) == 0o600
    assert _mode(folder) == 0o700
    assert key.alg == "ES256"


def test_reused_from_the_store(
    fake_ca: FakeAcme, transport: AcmeTransport, accounts: AccountStore, deadline: Deadline, clock: FakeClock
) -> None:
    first, key = ensure_account(transport, accounts, AccountOptions(), deadline)
    other = AcmeTransport(fake_ca.directory_url, clock, http=fake_ca.http())
    again, key2 = ensure_account(other, accounts, AccountOptions(), deadline)
    assert again.url == first.url and key2.thumbprint() == key.thumbprint()
    assert fake_ca.count("newAccount") == 1


def test_lost_account_record_finds_the_same_account(
    fake_ca: FakeAcme, transport: AcmeTransport, accounts: AccountStore, deadline: Deadline
) -> None:
    """A crash after registering but before account.json was written: the saved key finds it again."""
    first, _key = ensure_account(transport, accounts, AccountOptions(), deadline)
    os.unlink(os.path.join(accounts.folder(fake_ca.directory_url, None), "account.json"))
    again, _key = ensure_account(transport, accounts, AccountOptions(), deadline)
    assert again.url == first.url and len(fake_ca.accounts) == 1


@pytest.mark.parametrize("key_type,alg", [("p384", "ES384"), ("rsa2048", "RS256")])
def test_other_account_key_types(
    fake_ca: FakeAcme,
    transport: AcmeTransport,
    accounts: AccountStore,
    deadline: Deadline,
    key_type: str,
    alg: str,
) -> None:
    ref, key = ensure_account(transport, accounts, AccountOptions(key_type=key_type), deadline)
    assert key.alg == alg and ref.url in fake_ca.accounts  # the fake verified the signature


def test_terms_of_service_required(
    clock: FakeClock, test_ca: TestCA, accounts: AccountStore, deadline: Deadline
) -> None:
    fake = FakeAcme(clock, test_ca, tos="https://ca.test/tos.pdf")
    transport = AcmeTransport(fake.directory_url, clock, http=fake.http())
    with pytest.raises(ConfigError, match="terms of service.*tos.pdf.*agree_tos"):
        ensure_account(transport, accounts, AccountOptions(), deadline)
    assert fake.count("newAccount") == 0
    ensure_account(transport, accounts, AccountOptions(agree_tos=True), deadline)
    assert fake.payloads("newAccount")[0]["termsOfServiceAgreed"] is True


def _eab_ca(clock: FakeClock, test_ca: TestCA) -> tuple[FakeAcme, AcmeTransport]:
    fake = FakeAcme(clock, test_ca, eab_keys={"kid-1": EAB_KEY}, eab_required=True)
    return fake, AcmeTransport(fake.directory_url, clock, http=fake.http())


def test_eab_required_but_missing(
    clock: FakeClock, test_ca: TestCA, accounts: AccountStore, deadline: Deadline
) -> None:
    fake, transport = _eab_ca(clock, test_ca)
    with pytest.raises(ConfigError, match="External Account Binding"):
        ensure_account(transport, accounts, AccountOptions(), deadline)
    assert fake.count("newAccount") == 0


def test_eab_given(clock: FakeClock, test_ca: TestCA, accounts: AccountStore, deadline: Deadline) -> None:
    fake, transport = _eab_ca(clock, test_ca)
    ref, _key = ensure_account(
        transport, accounts, AccountOptions(eab_kid="kid-1", eab_hmac_key=b64u(EAB_KEY)), deadline
    )
    assert fake.accounts[ref.url].eab_kid == "kid-1"
    # stored apart from a non-EAB account at the same CA
    assert os.path.isdir(accounts.folder(fake.directory_url, "kid-1"))
    assert ca_id(fake.directory_url, "kid-1") != ca_id(fake.directory_url, None)
    assert accounts.load(fake.directory_url, None) is None


def test_eab_wrong_mac_key_refused(
    clock: FakeClock, test_ca: TestCA, accounts: AccountStore, deadline: Deadline
) -> None:
    _fake, transport = _eab_ca(clock, test_ca)
    opts = AccountOptions(eab_kid="kid-1", eab_hmac_key=b64u(b"\x08" * 32))
    with pytest.raises(AcmeProblemError, match="unauthorized: external account binding: HMAC"):
        ensure_account(transport, accounts, opts, deadline)
    assert accounts.load(transport.directory_url, "kid-1") is None


def test_eab_kid_without_key(transport: AcmeTransport, accounts: AccountStore, deadline: Deadline) -> None:
    with pytest.raises(ConfigError, match="eab_hmac_key"):
        ensure_account(transport, accounts, AccountOptions(eab_kid="kid-1"), deadline)


def test_unknown_account_key_type(
    transport: AcmeTransport, accounts: AccountStore, deadline: Deadline
) -> None:
    with pytest.raises(ConfigError, match="account key type"):
        ensure_account(transport, accounts, AccountOptions(key_type="ed25519"), deadline)


def test_key_rollover(
    fake_ca: FakeAcme, transport: AcmeTransport, accounts: AccountStore, deadline: Deadline, clock: FakeClock
) -> None:
    ref, old = ensure_account(transport, accounts, AccountOptions(), deadline)
    new = rollover_key(transport, accounts, ref, old, "p384", deadline)
    assert new.alg == "ES384"
    assert fake_ca.accounts[ref.url].jwk == new.public_jwk  # the CA verified inner and outer JWS
    loaded = accounts.load(fake_ca.directory_url, None)
    assert loaded is not None and loaded[0].url == ref.url and loaded[1].thumbprint() == new.thumbprint()
    # the new key works, the old one no longer does
    url = fake_ca.url("/new-order")
    payload = {"identifiers": [{"type": "dns", "value": "a.example.org"}]}
    assert transport.post(url, payload, new, ref.url, deadline, "order").status == 201
    with pytest.raises(AcmeProblemError, match="signature"):
        transport.post(url, payload, old, ref.url, deadline, "order")
