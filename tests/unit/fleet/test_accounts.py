"""The account policy: one ACME account per CA for the fleet. A host that names another host as
account holder never registers (clear error, backoff ends when the account arrives); account
bundles import atomically and idempotently; a rollover on the holder reaches members by import;
a given key (Vault) is used before registering and never replaces a valid account's key."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from mdcore.acme.account import AccountStore
from mdcore.clock import FakeClock
from mdcore.config import AccountConfig, CaConfig, MdConfig
from mdcore.errors import ConfigError, NoAccountError
from mdcore.fleet.accounts import AccountAction, ensure_accounts, import_account_key, rollover
from mdcore.fleet.bundle import BundleError, parse_bundle
from mdcore.fleet.share import ImportAction, account_identities, export_account, import_account
from mdcore.keys import generate_key, key_to_pem
from mdcore.keytypes import key_spec
from mdcore.manager import Action, Reason
from mdcore.store import Store

from ..fakeacme import Crash, FakeAcme
from ..helpers import FakeNet, tree
from .conftest import ISSUER, MEMBER, OTHER
from .test_import_set import CrashAt

HOLDER = ISSUER
Cfg = Callable[..., MdConfig]


@pytest.fixture
def own(make_cfg: Cfg) -> Callable[..., MdConfig]:
    """A per-host domain of ``host`` in a fleet whose accounts ``HOLDER`` holds."""

    def make(host: str, **options) -> MdConfig:
        cfg = make_cfg(["%s.example" % host], name=host, **options)
        cfg.host, cfg.account_holder = host, HOLDER
        return cfg

    return make


def holder_ensure(stores, fake_ca: FakeAcme, clock: FakeClock, net: FakeNet):
    acct = AccountConfig(CaConfig(fake_ca.directory_url), agree_tos=True)
    return ensure_accounts(stores[HOLDER], [acct], HOLDER, HOLDER, clock, transport_factory=net.transport)[0]


def distribute(stores, clock: FakeClock, ca_url: str, host: str = MEMBER):
    data = export_account(stores[HOLDER], ca_url, None, HOLDER, clock)
    return import_account(stores[host], parse_bundle(data), host, HOLDER)


def test_a_non_holder_never_registers_and_says_where_the_account_is(issue, own, fake_ca, stores) -> None:
    with pytest.raises(NoAccountError, match=r"no ACME account for https://ca.test/dir in the store: this host "
                                             r"uses the fleet's account held by web1; run playbooks/distribute.yml"):
        issue(own(MEMBER), host=MEMBER)
    assert fake_ca.count("newAccount") == 0 and fake_ca.seen == []
    assert os.listdir(stores[MEMBER].path("accounts")) == []


def test_one_account_for_the_fleet(issue, own, fake_ca, stores, clock, net) -> None:
    outcome = holder_ensure(stores, fake_ca, clock, net)
    assert outcome.action == AccountAction.REGISTERED and outcome.account_url in fake_ca.accounts
    assert holder_ensure(stores, fake_ca, clock, net).action == AccountAction.EXISTING
    for host in (MEMBER, OTHER):
        result = distribute(stores, clock, fake_ca.directory_url, host)
        assert (result.action, result.changed) == (ImportAction.IMPORTED, True)
        assert result.account_url == outcome.account_url
    for host in (ISSUER, MEMBER, OTHER):
        assert issue(own(host), host=host).action == Action.ORDER
    assert fake_ca.count("newAccount") == 1 and len(fake_ca.accounts) == 1
    identities = [account_identities(stores[h]) for h in (ISSUER, MEMBER, OTHER)]
    assert identities[0] == identities[1] == identities[2]
    (entry,) = identities[0].values()
    assert entry == {"ca_url": fake_ca.directory_url, "eab_kid": None, "account_url": outcome.account_url,
                     "key_thumbprint": outcome.key_thumbprint}


def test_the_backoff_of_a_missing_account_ends_when_it_arrives(issue, own, fake_ca, stores, clock, net) -> None:
    with pytest.raises(NoAccountError):
        issue(own(MEMBER), host=MEMBER)
    assert issue(own(MEMBER), host=MEMBER).action == Action.BACKOFF
    holder_ensure(stores, fake_ca, clock, net)
    distribute(stores, clock, fake_ca.directory_url)
    result = issue(own(MEMBER), host=MEMBER)
    assert (result.action, result.reasons) == (Action.ORDER, [Reason.NO_CERT])


def test_account_import_is_idempotent(fake_ca, stores, clock, net) -> None:
    holder_ensure(stores, fake_ca, clock, net)
    distribute(stores, clock, fake_ca.directory_url)
    before = tree(stores[MEMBER].path("accounts"))
    again = distribute(stores, clock, fake_ca.directory_url)
    assert (again.action, again.changed, again.warnings) == (ImportAction.UNCHANGED, False, [])
    assert tree(stores[MEMBER].path("accounts")) == before


def test_a_rollover_on_the_holder_reaches_members_by_import(issue, own, fake_ca, stores, clock, net) -> None:
    first = holder_ensure(stores, fake_ca, clock, net)
    distribute(stores, clock, fake_ca.directory_url)
    acct = AccountConfig(CaConfig(fake_ca.directory_url), account_key_type="p384")
    rolled = rollover(stores[HOLDER], acct, HOLDER, HOLDER, clock, transport_factory=net.transport)
    assert rolled.action == AccountAction.ROLLED_OVER and rolled.account_url == first.account_url
    assert rolled.key_thumbprint != first.key_thumbprint
    result = distribute(stores, clock, fake_ca.directory_url)
    assert result.action == ImportAction.IMPORTED and result.key_thumbprint == rolled.key_thumbprint
    assert result.warnings == ["new key for the account %s (key rollover at the holder web1)" % first.account_url]
    order = issue(own(MEMBER), host=MEMBER)  # the CA accepts only the new key now
    assert order.action == Action.ORDER and fake_ca.count("newAccount") == 1


def test_rollover_and_ensure_happen_on_the_holder_only(fake_ca, stores, clock, net) -> None:
    acct = AccountConfig(CaConfig(fake_ca.directory_url), agree_tos=True)
    with pytest.raises(ConfigError, match="this host \\(web2\\) uses the fleet's ACME accounts held by web1"):
        ensure_accounts(stores[MEMBER], [acct], MEMBER, HOLDER, clock, transport_factory=net.transport)
    with pytest.raises(ConfigError, match="held by web1: roll the account key over there"):
        rollover(stores[MEMBER], acct, MEMBER, HOLDER, clock, transport_factory=net.transport)
    assert fake_ca.seen == []


def test_account_bundles_only_from_the_holder_to_others(fake_ca, stores, clock, net) -> None:
    holder_ensure(stores, fake_ca, clock, net)
    bundle = parse_bundle(export_account(stores[HOLDER], fake_ca.directory_url, None, HOLDER, clock))
    cases = [
        (MEMBER, None, "this host (web2) names no account_holder: it registers its own ACME accounts"),
        (HOLDER, HOLDER, "this host (web1) is the fleet's account holder: it imports no accounts"),
        (MEMBER, OTHER, "the account bundle comes from web1, but the fleet's account holder is web3"),
    ]
    for host, holder, message in cases:
        with pytest.raises(BundleError, match=message.replace("(", "\\(").replace(")", "\\)")):
            import_account(stores[host], bundle, host, holder)
    assert os.listdir(stores[MEMBER].path("accounts")) == []


def test_a_crash_during_an_account_import_never_pairs_url_and_key_wrongly(fake_ca, stores, clock, net, tmp_path,
                                                                          monkeypatch) -> None:
    """The member had its own account; the fleet's replaces it. After a crash at any write, the
    store has the old pair, the new pair, or no valid account: never one URL with another's key."""
    import shutil

    mine = AccountConfig(CaConfig(fake_ca.directory_url), agree_tos=True)
    ensure_accounts(stores[MEMBER], [mine], MEMBER, None, clock, transport_factory=net.transport)
    old = account_identities(stores[MEMBER])
    holder_ensure(stores, fake_ca, clock, net)
    data = export_account(stores[HOLDER], fake_ca.directory_url, None, HOLDER, clock)
    new = account_identities(stores[HOLDER])
    assert old != new
    crashes = 0
    for n in range(1, 100):
        root = str(tmp_path / ("m%d" % n))
        shutil.copytree(stores[MEMBER].root, root, symlinks=True)
        store = Store(root, clock)
        with monkeypatch.context() as patch:
            CrashAt(patch, n)
            try:
                result = import_account(store, parse_bundle(data), MEMBER, HOLDER)
            except Crash:
                crashes += 1
            else:
                assert result.warnings == ["replaces this host's account %s for %s"
                                           % (next(iter(old.values()))["account_url"], fake_ca.directory_url)]
                break
        assert account_identities(store) in (old, new, {}), n
        import_account(store, parse_bundle(data), MEMBER, HOLDER)
        assert account_identities(store) == new
    assert crashes >= 6


def test_a_given_key_makes_every_host_find_the_same_account(fake_ca, stores, clock, net) -> None:
    pem = key_to_pem(generate_key(key_spec("p256")))
    ca = CaConfig(fake_ca.directory_url)
    acct = AccountConfig(ca, agree_tos=True)
    for host in (ISSUER, MEMBER):
        outcome = import_account_key(stores[host], ca, pem)
        assert outcome.action == AccountAction.IMPORTED
        assert import_account_key(stores[host], ca, pem).action == AccountAction.UNCHANGED
        ensure_accounts(stores[host], [acct], host, None, clock, transport_factory=net.transport)
    assert len(fake_ca.accounts) == 1  # newAccount with a known key returns that account (RFC 8555 7.3.1)
    assert account_identities(stores[ISSUER]) == account_identities(stores[MEMBER])
    other = key_to_pem(generate_key(key_spec("p256")))
    before = tree(stores[MEMBER].path("accounts"))
    with pytest.raises(BundleError, match="has a valid account .* with another key: it is not replaced"):
        import_account_key(stores[MEMBER], ca, other)
    assert tree(stores[MEMBER].path("accounts")) == before


@pytest.mark.parametrize("pem, message", [
    (b"", "is not an unencrypted PEM private key"),
    (b"-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n", "not an unencrypted PEM"),
    (key_to_pem(generate_key(key_spec("p256")))[:120], "not an unencrypted PEM"),
], ids=["empty", "garbage", "truncated"])
def test_a_bad_given_key_is_a_clear_error(pem: bytes, message: str, stores, fake_ca) -> None:
    with pytest.raises(BundleError, match=message) as info:
        import_account_key(stores[MEMBER], CaConfig(fake_ca.directory_url), pem)
    assert "SECRET" not in str(info.value)


def test_a_small_rsa_key_is_refused(stores, fake_ca) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = key_to_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(BundleError, match="RSA key of 1024 bits: an ACME account key needs at least 2048"):
        import_account_key(stores[MEMBER], CaConfig(fake_ca.directory_url), pem)


def test_check_mode_writes_no_account(fake_ca, stores, clock, net) -> None:
    holder_ensure(stores, fake_ca, clock, net)
    data = export_account(stores[HOLDER], fake_ca.directory_url, None, HOLDER, clock)
    result = import_account(stores[MEMBER], parse_bundle(data), MEMBER, HOLDER, check=True)
    assert (result.action, result.changed) == (ImportAction.WOULD_IMPORT, True)
    assert os.listdir(stores[MEMBER].path("accounts")) == []
    assert AccountStore(stores[MEMBER].path("accounts")).load(fake_ca.directory_url, None) is None


def test_a_crash_after_the_ca_switched_keys_keeps_the_account(issue, own, fake_ca, stores, clock, net,
                                                              monkeypatch) -> None:
    """The CA accepted the key change, the holder died before replacing account.key.pem: the new
    key was kept beside it, and the next use of the account asks the CA and keeps the new one."""
    first = holder_ensure(stores, fake_ca, clock, net)
    acct = AccountConfig(CaConfig(fake_ca.directory_url))

    def killed(*_args) -> None:
        raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(AccountStore, "save_key", killed)
        with pytest.raises(Crash):
            rollover(stores[HOLDER], acct, HOLDER, HOLDER, clock, transport_factory=net.transport)
    accounts = AccountStore(stores[HOLDER].path("accounts"))
    assert accounts.load_next_key(fake_ca.directory_url, None) is not None
    with pytest.raises(Exception, match="interrupted key rollover: run mdfleet account ensure"):
        export_account(stores[HOLDER], fake_ca.directory_url, None, HOLDER, clock)
    assert holder_ensure(stores, fake_ca, clock, net).key_thumbprint != first.key_thumbprint
    assert accounts.load_next_key(fake_ca.directory_url, None) is None
    assert issue(own(HOLDER), host=HOLDER).action == Action.ORDER  # the CA takes the kept key
    assert fake_ca.count("newAccount") == 1


def test_a_crash_before_the_ca_switched_keeps_the_old_key(issue, own, fake_ca, stores, clock, net) -> None:
    first = holder_ensure(stores, fake_ca, clock, net)
    fake_ca.inject("keyChange", Crash())
    with pytest.raises(Crash):
        rollover(stores[HOLDER], AccountConfig(CaConfig(fake_ca.directory_url)), HOLDER, HOLDER, clock,
                 transport_factory=net.transport)
    assert holder_ensure(stores, fake_ca, clock, net).key_thumbprint == first.key_thumbprint
    assert AccountStore(stores[HOLDER].path("accounts")).load_next_key(fake_ca.directory_url, None) is None
    assert issue(own(HOLDER), host=HOLDER).action == Action.ORDER
