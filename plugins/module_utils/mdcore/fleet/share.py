"""Export and import of certificate sets and ACME accounts between fleet hosts, and the fleet
state (public identities only) that tells Ansible who needs what.

A set import is a local activation like an order's: verified before anything is written, files
into staging/<md>/, then Store.activate (set.json last, archive, symlink swap, prune), so kill -9
at any point leaves the old or the new complete set. Callers hold the store lock and have run
Store.recover() (the CLI does both).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import asdict, dataclass, field

from .. import VERSION
from ..acme.account import AccountStore, account_info, ca_id
from ..acme.jws import AccountKey
from ..acme.resources import AccountRef, Status
from ..certs import CertFacts
from ..clock import Clock, from_iso, to_iso
from ..config import CaConfig, MdConfig
from ..errors import ConfigError, MdError, StoreError
from ..fsutil import read_bytes
from ..issuance import cert_info
from ..keys import key_to_pem
from ..manager import remember_config
from ..state.certset import CertInfo, CertSet, Imported
from ..state.fields import CorruptStateError, NewerStateError, read_state
from ..store import SET_FILE, Store
from .bundle import (
    BUNDLE_VERSION,
    KIND_ACCOUNT,
    KIND_SET,
    SET_FILES,
    AccountBundle,
    BundleError,
    SetBundle,
    account_bundle,
    set_bundle,
)
from .verify import account_key, check_set_for_host, same_key, verify_set_files

# account.json's status while an import replaces the account: load() treats it as no account, so
# a crash between the two files never pairs one account's URL with another account's key
IMPORTING = "importing"


class ImportAction:
    IMPORTED = "imported"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # an older set than the active one: kept, with a warning (exit 0)
    WOULD_IMPORT = "would_import"  # --check
    FAILED = "failed"  # the bundle did not verify (exit 1)


@dataclass
class ImportResult:
    """What `mdfleet import` prints (the role's contract: docs/fleet.md)."""

    kind: str
    action: str
    changed: bool
    md: str | None = None
    ca_url: str | None = None
    issuer: str | None = None
    serials: dict = field(default_factory=dict)
    account_url: str | None = None
    key_thumbprint: str | None = None
    reload: dict | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


# -- export -----------------------------------------------------------------------------------
def export_set(store: Store, cfg: MdConfig | None, md: str, host: str, clock: Clock) -> bytes:
    """The active set of a shared domain issued here, as a bundle (it holds the private keys)."""
    if cfg is None:
        raise ConfigError("no managed domain named %s on this host (%s)" % (md, host))
    if not cfg.issuer:
        raise ConfigError("%s is not a shared domain (its config names no issuer): only shared domains are "
                          "exported" % md)
    if cfg.imported:
        raise ConfigError("%s is imported on this host from %s: export it on %s" % (md, cfg.issuer, cfg.issuer))
    folder = store.active_folder(md)
    info = read_state(os.path.join(folder, SET_FILE), CertSet.from_json) if folder else None
    if info is None:
        raise MdError("%s has no certificate set on this host (%s) yet: order it first (mdfleet renew %s)"
                      % (md, host, md))
    if not same_config(info, cfg):
        raise MdError("the active set of %s is not for its configured names and key types: renew it first "
                      "(mdfleet renew %s)" % (md, md))
    files: dict[str, dict[str, bytes]] = {}
    for kt in cfg.key_types:
        files[kt] = {}
        for name in SET_FILES:
            data = read_bytes(os.path.join(folder, kt, name))
            if not data:
                raise StoreError("the active set of %s lacks %s/%s" % (md, kt, name))
            files[kt][name] = data
    return set_bundle(host, to_iso(clock.now()), md, info.to_json(), files)


def export_account(store: Store, ca_url: str, eab_kid: str | None, host: str, clock: Clock) -> bytes:
    """The store's account for ``ca_url`` (+EAB kid) as a bundle (it holds the account key)."""
    accounts = AccountStore(store.path("accounts"))
    found = accounts.load(ca_url, eab_kid)
    kid = " (EAB kid %s)" % eab_kid if eab_kid else ""
    if found is None:
        raise MdError("no valid ACME account for %s%s in this store: run mdfleet account ensure" % (ca_url, kid))
    if accounts.load_next_key(ca_url, eab_kid) is not None:  # which key is valid only the CA can tell
        raise MdError("the account for %s%s has an interrupted key rollover: run mdfleet account ensure (it asks "
                      "the CA which key is current), then export it" % (ca_url, kid))
    ref, key = found
    return account_bundle(host, to_iso(clock.now()), ca_url, eab_kid, ref.url, ref.contact, key_to_pem(key.key))


# -- import of a set --------------------------------------------------------------------------
def import_set(store: Store, cfg: MdConfig | None, bundle: SetBundle, host: str, clock: Clock,
               check: bool = False) -> ImportResult:
    cfg = check_set_for_host(bundle, cfg, host)
    now = clock.now()
    facts = verify_set_files(bundle, cfg, now)
    result = ImportResult(KIND_SET, ImportAction.UNCHANGED, False, md=cfg.name, issuer=bundle.issuer,
                          serials={kt: facts[kt].serial for kt in cfg.key_types})
    active = store.active_set(cfg.name)
    decision, warning = compare_with_active(active, cfg, facts, now)
    if warning:
        result.warnings.append(warning)
    if decision != ImportAction.IMPORTED:
        result.action = decision
        return result
    if check:
        result.action, result.changed = ImportAction.WOULD_IMPORT, True
        return result
    remember_config(store, cfg)
    store.stage_set(cfg.name, {kt: bundle.files[kt].as_dict() for kt in cfg.key_types})
    store.activate(cfg.name, member_set_info(bundle, cfg, facts, now))
    _log_import(store, cfg, bundle.issuer, result.serials, now)
    result.action, result.changed = ImportAction.IMPORTED, True
    return result


def compare_with_active(active: CertSet | None, cfg: MdConfig, facts: dict[str, CertFacts],
                        now: datetime.datetime) -> tuple[str, str | None]:
    """IMPORTED (the bundle is wanted), UNCHANGED (same certificates) or REFUSED (older than the
    active set, with the warning to show)."""
    if not active:
        return ImportAction.IMPORTED, None
    if not same_config(active, cfg):
        return ImportAction.IMPORTED, None  # the active set is for another config: any valid set is better
    ours: dict[str, CertInfo] = active.certs
    if all(ours[kt].sha256_fingerprint == facts[kt].sha256_fingerprint for kt in cfg.key_types):
        return ImportAction.UNCHANGED, None
    older = []
    for kt in cfg.key_types:
        since, until = ours[kt].not_before, ours[kt].not_after
        if until <= now:
            continue  # an expired active certificate is never kept over a valid one
        if facts[kt].not_before < since:
            older.append("%s serial %s from %s (active: serial %s from %s)" % (
                kt, facts[kt].serial, to_iso(facts[kt].not_before), ours[kt].serial, to_iso(since)))
    if older:
        return ImportAction.REFUSED, ("the bundle of %s is older than the active set, which is kept: %s"
                                      % (cfg.name, "; ".join(older)))
    return ImportAction.IMPORTED, None


def same_config(info: CertSet, cfg: MdConfig) -> bool:
    """A set.json is for ``cfg``'s names and key types (both compared as sets: order is no change)."""
    return info.same_names(cfg.domains) and info.same_key_types(cfg.key_types)


def member_set_info(bundle: SetBundle, cfg: MdConfig, facts: dict[str, CertFacts], now: datetime.datetime) -> CertSet:
    """The issuer's set.json with facts computed here and where it came from."""
    info = bundle.set_info
    return CertSet(md=cfg.name, names=list(info["names"]), key_types=list(cfg.key_types),
                   certs={kt: cert_info(facts[kt]) for kt in cfg.key_types}, ca_url=info.get("ca_url"),
                   account_url=info.get("account_url"), created=_created(info.get("created")),
                   orders=dict(info.get("orders") or {}), imported=Imported(bundle.issuer, now, bundle.created))


def _created(text: str | None) -> datetime.datetime | None:
    try:
        return from_iso(text)
    except ValueError:  # the bundle checks only that it is a short string: a fact, not a decision
        return None


def _log_import(store: Store, cfg: MdConfig, issuer: str, serials: dict, now: datetime.datetime) -> None:
    job = store.load_job(cfg.name)
    job.errors, job.next_retry, job.last_error, job.ari = 0, None, None, {}
    job.last_run = job.last_success = now
    job.add_log(now, "imported", "imported %s from %s" % (
        ", ".join("%s serial %s" % (kt, serial) for kt, serial in serials.items()), issuer))
    store.save_job(job)


# -- import of an account ---------------------------------------------------------------------
def import_account(store: Store, bundle: AccountBundle, host: str, holder: str | None,
                   check: bool = False) -> ImportResult:
    """The fleet's account for a CA into accounts/<ca-id>/; a new key for the same account URL is
    the holder's key rollover reaching this host."""
    if not holder:
        raise BundleError("this host (%s) names no account_holder: it registers its own ACME accounts and "
                          "imports none" % host)
    if holder == host:
        raise BundleError("this host (%s) is the fleet's account holder: it imports no accounts" % host)
    if bundle.issuer != holder:
        raise BundleError("the account bundle comes from %s, but the fleet's account holder is %s"
                          % (bundle.issuer, holder))
    key = account_key(bundle)
    result = ImportResult(KIND_ACCOUNT, ImportAction.UNCHANGED, False, ca_url=bundle.ca_url, issuer=bundle.issuer,
                          account_url=bundle.account_url, key_thumbprint=key.thumbprint())
    accounts = AccountStore(store.path("accounts"))
    found = accounts.load(bundle.ca_url, bundle.eab_kid)
    if found is not None:
        ref, old = found
        if ref.url == bundle.account_url and same_key(old, key) and list(ref.contact) == bundle.contact:
            return result
        if ref.url != bundle.account_url:
            result.warnings.append("replaces this host's account %s for %s" % (ref.url, bundle.ca_url))
        elif not same_key(old, key):
            result.warnings.append("new key for the account %s (key rollover at the holder %s)"
                                   % (ref.url, bundle.issuer))
    result.action, result.changed = ImportAction.WOULD_IMPORT if check else ImportAction.IMPORTED, True
    if not check:
        write_account(accounts, bundle, key, same_url=found is not None and found[0].url == bundle.account_url)
    return result


def write_account(accounts: AccountStore, bundle: AccountBundle, key: AccountKey, same_url: bool) -> None:
    """Key and account.json, in an order where every crash leaves a consistent pair (or none)."""
    ref = AccountRef(bundle.account_url, bundle.ca_url, list(bundle.contact), bundle.eab_kid)
    if not same_url and os.path.exists(os.path.join(accounts.folder(bundle.ca_url, bundle.eab_kid), "account.json")):
        accounts.save(ref, status=IMPORTING)
    accounts.save_key(bundle.ca_url, bundle.eab_kid, key)
    accounts.save(ref, status=Status.VALID)


# -- fleet state ------------------------------------------------------------------------------
def fleet_state(store: Store, host: str, holder: str | None, holds_accounts: bool, domains: list[MdConfig],
                account_cas: list[CaConfig]) -> dict:
    """Public identities of this host's shared sets and ACME accounts: no keys, no network, no lock
    (set.json and account.json are each replaced atomically). ``account_cas``: the CAs this host
    needs an account at (the holder: every CA it holds for the fleet)."""
    sets = {cfg.name: _set_state(store, cfg) for cfg in domains if cfg.issuer}
    accounts = AccountStore(store.path("accounts"))
    cas: dict[str, dict] = {}
    for ca in account_cas:
        cas.setdefault(ca_id(ca.url, ca.eab_kid), {"ca_url": ca.url, "eab_kid": ca.eab_kid,
                                                   "has_account": accounts.load(ca.url, ca.eab_kid) is not None})
    return {"host": host, "account_holder": holder, "holds_accounts": holds_accounts, "engine_version": VERSION,
            "bundle_version": BUNDLE_VERSION, "sets": sets, "accounts": account_identities(store), "cas": cas}


def _set_state(store: Store, cfg: MdConfig) -> dict:
    try:
        active = store.active_set(cfg.name)
    except (CorruptStateError, NewerStateError):  # a set.json that does not read: shown as no set
        active = None
    certs = {}
    for kt, facts in (active.certs if active else {}).items():
        doc = facts.to_json()
        certs[kt] = {k: doc[k] for k in ("serial", "sha256_fingerprint", "not_before", "not_after")}
    imported = active.imported if active else None
    return {"issuer": cfg.issuer, "issued_here": not cfg.imported, "members": list(cfg.members),
            "names": sorted(cfg.domains), "key_types": list(cfg.key_types),
            "active_key_types": list(active.key_types) if active else [], "certs": certs,
            "imported": imported.to_json() if imported else None}


def account_identities(store: Store) -> dict:
    """ca-id -> ca_url, eab_kid, account_url, key_thumbprint of every valid account in the store."""
    out = {}
    root = store.path("accounts")
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return out
    accounts = AccountStore(root)
    for entry in entries:
        try:
            info = read_state(os.path.join(root, entry, "account.json"), account_info)
            if info is None or info["status"] != Status.VALID:
                continue
            found = accounts.load(info["ca_url"], info["eab_kid"])
        except MdError:
            continue  # unreadable: not an identity to compare
        if found is None:
            continue
        ref, key = found
        out[entry] = {"ca_url": ref.ca_url, "eab_kid": ref.eab_kid, "account_url": ref.url,
                      "key_thumbprint": key.thumbprint()}
    return out


__all__ = ["ImportAction", "ImportResult", "export_set", "export_account", "import_set", "import_account",
           "fleet_state", "account_identities", "compare_with_active", "member_set_info"]
