"""One ACME account per CA for the fleet: the holder registers (ensure) and rolls keys over; any
host may be given an account key (Ansible Vault) before it registers, so newAccount returns the
same account everywhere (RFC 8555 7.3.1). Callers hold the store lock."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..acme.account import AccountStore, ca_id, ensure_account, rollover_key
from ..acme.account_gate import ACCOUNTS
from ..clock import Clock, Deadline
from ..config import AccountConfig, CaConfig, MdConfig, account_config_of
from ..errors import ConfigError, MdError
from ..issuance import TransportFactory, account_options_for, transport_for
from ..store import Store
from .bundle import BundleError
from .verify import load_account_key, same_key

ACCOUNT_DEADLINE = 120.0  # registration or key change: a few requests


class AccountAction:
    REGISTERED = "registered"
    EXISTING = "existing"
    IMPORTED = "imported"
    UNCHANGED = "unchanged"
    WOULD_IMPORT = "would_import"
    ROLLED_OVER = "rolled-over"
    FAILED = "failed"


@dataclass
class AccountOutcome:
    ca_url: str
    eab_kid: str | None
    ca_id: str
    action: str
    account_url: str | None = None
    key_thumbprint: str | None = None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.action in (AccountAction.REGISTERED, AccountAction.IMPORTED, AccountAction.ROLLED_OVER)

    def to_json(self) -> dict:
        return dict(asdict(self), changed=self.changed)


def account_configs(domains: list[MdConfig], extra: list[AccountConfig]) -> list[AccountConfig]:
    """Every CA of every managed domain (imported ones too: their issuer may use the holder's
    account) and the extra accounts, once per CA + EAB kid (the first mention decides options)."""
    out: dict[str, AccountConfig] = {}
    for cfg in domains:
        for ca in cfg.cas:
            out.setdefault(ca_id(ca.url, ca.eab_kid), account_config_of(cfg, ca))
    for acct in extra:
        out.setdefault(ca_id(acct.ca.url, acct.ca.eab_kid), acct)
    return list(out.values())


def find_account_config(configs: list[AccountConfig], ca_url: str, eab_kid: str | None) -> AccountConfig:
    for acct in configs:
        if acct.ca.url == ca_url and (acct.ca.eab_kid or None) == (eab_kid or None):
            return acct
    kid = " with EAB kid %s" % eab_kid if eab_kid else ""
    raise ConfigError("no CA %s%s in this host's domains or accounts" % (ca_url, kid))


def _check_holder(host: str, holder: str | None, what: str) -> None:
    if holder and holder != host:
        raise ConfigError("this host (%s) uses the fleet's ACME accounts held by %s: %s there, then run "
                          "playbooks/distribute.yml" % (host, holder, what))


def ensure_accounts(store: Store, configs: list[AccountConfig], host: str, holder: str | None, clock: Clock,
                    transport_factory: TransportFactory = transport_for) -> list[AccountOutcome]:
    """Register (or find) the account at every CA; errors are reported per CA."""
    _check_holder(host, holder, "accounts are registered")
    accounts = AccountStore(store.path("accounts"), note=store.note)
    out = []
    for acct in configs:
        ca = acct.ca
        outcome = AccountOutcome(ca.url, ca.eab_kid, ca_id(ca.url, ca.eab_kid), AccountAction.EXISTING)
        try:
            known = accounts.load(ca.url, ca.eab_kid) is not None
            transport = transport_factory(ca, acct, clock)  # no request for a known account (unless a
            with ACCOUNTS.exclusive(accounts.folder(ca.url, ca.eab_kid)):  # rollover was interrupted)
                found = ensure_account(transport, accounts, account_options_for(acct),
                                       Deadline(clock, ACCOUNT_DEADLINE))
            if not known:
                outcome.action = AccountAction.REGISTERED
            outcome.account_url, outcome.key_thumbprint = found[0].url, found[1].thumbprint()
        except MdError as exc:
            outcome.action, outcome.error = AccountAction.FAILED, str(exc)
        out.append(outcome)
    return out


def import_account_key(store: Store, ca: CaConfig, pem: bytes, check: bool = False) -> AccountOutcome:
    """A given account key (Ansible Vault) for ``ca``, saved before registering; never replaces
    the key of a valid account (that is a key rollover, done at the CA)."""
    key = load_account_key(pem, "the account key on stdin")
    accounts = AccountStore(store.path("accounts"))
    outcome = AccountOutcome(ca.url, ca.eab_kid, ca_id(ca.url, ca.eab_kid), AccountAction.UNCHANGED,
                             key_thumbprint=key.thumbprint())
    found = accounts.load(ca.url, ca.eab_kid)
    if found is not None:
        outcome.account_url = found[0].url
        if same_key(found[1], key):
            return outcome
        raise BundleError("the store has a valid account %s for %s with another key: it is not replaced (a new "
                          "key for an account is a key rollover: mdfleet account rollover on the holder)"
                          % (found[0].url, ca.url))
    stored = accounts.load_key(ca.url, ca.eab_kid)
    if stored is not None and same_key(stored, key):
        return outcome
    outcome.action = AccountAction.WOULD_IMPORT if check else AccountAction.IMPORTED
    if not check:
        accounts.save_key(ca.url, ca.eab_kid, key)
    return outcome


def rollover(store: Store, acct: AccountConfig, host: str, holder: str | None, clock: Clock,
             transport_factory: TransportFactory = transport_for) -> AccountOutcome:
    """RFC 8555 7.3.5 key change of the account at ``acct``'s CA, on the holder; members receive
    the new key with the next account import."""
    _check_holder(host, holder, "roll the account key over")
    ca = acct.ca
    accounts = AccountStore(store.path("accounts"))
    found = accounts.load(ca.url, ca.eab_kid)
    if found is None:
        raise MdError("no valid ACME account for %s in this store: run mdfleet account ensure first" % ca.url)
    deadline = Deadline(clock, ACCOUNT_DEADLINE)
    transport = transport_factory(ca, acct, clock)
    with ACCOUNTS.exclusive(accounts.folder(ca.url, ca.eab_kid)):
        new = rollover_key(transport, accounts, found[0], found[1], acct.account_key_type, deadline)
    return AccountOutcome(ca.url, ca.eab_kid, ca_id(ca.url, ca.eab_kid), AccountAction.ROLLED_OVER,
                          account_url=found[0].url, key_thumbprint=new.thumbprint())


__all__ = ["AccountAction", "AccountOutcome", "account_configs", "find_account_config", "ensure_accounts",
           "import_account_key", "rollover"]
