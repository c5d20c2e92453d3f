"""The dns-persist-01 records a managed domain needs, for people to publish (``mdfleet
dns-persist-record``, acme_md_order's ``dns_persist_records``), and what the engine remembers to
give them without an order.

A record names the CA by an issuer domain name and the account by its URL. The account URL is in
the store once the account exists (registered here, or the fleet's account copied here). The
issuer domain name is in every dns-persist-01 challenge; learning it from one costs an order. It
is known without one from, in this order:
  1. ``dns_persist_issuer`` in the config;
  2. the issuer domain names of the last dns-persist-01 challenge this store saw from the CA
     (remembered in dns-persist/<ca-id>.json);
  3. the directory's ``meta.issuerDomainNames`` (draft -02: every challenge offers these);
  4. the directory's ``meta.caaIdentities`` (pebble 2.10 and Let's Encrypt offer exactly these in
     their challenges; confirmed by the first challenge).
Only 3 and 4 need the network (one GET of the directory, no account, no order); orders remember
them too. When none applies, the first order's pre-check names the record (and nothing is
validated at the CA). Only locked runs (orders) write the memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from .acme.account import AccountStore, ca_id
from .acme.resources import ChallengeType
from .challenges.persist_value import (
    POLICY_WILDCARD,
    build_value,
    check_issuer,
    choose_issuer,
    evaluate,
    validation_name,
    zone_text,
)
from .clock import Clock, to_iso, utc_from_timestamp
from .config import CaConfig, MdConfig
from .errors import ChallengeError, MdError
from .fsutil import ensure_dir, read_json, write_json
from .store import Store


class IssuerSource:
    CONFIG = "config"
    CHALLENGE = "challenge"
    DIRECTORY = "directory issuerDomainNames"
    CAA_IDENTITIES = "directory caaIdentities"
    UNKNOWN = "unknown"


MEMORY_DIR = "dns-persist"

# Fetches a CA's directory (a dict); None where the network must not be used (check mode).
DirectoryFetch = Callable[[CaConfig], dict]


def memory_path(store: Store, ca_url: str) -> str:
    return store.path(MEMORY_DIR, ca_id(ca_url, None) + ".json")


def remembered(store: Store, ca_url: str) -> dict:
    """What this store learnt of the CA's issuer domain names; one that does not read is nothing
    learnt (derived state: the next challenge or directory rewrites it)."""
    try:
        doc = read_json(memory_path(store, ca_url)) or {}
    except (OSError, ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) and doc.get("ca_url") == ca_url else {}


def remember(store: Store, ca_url: str, clock: Clock, offered: list[str] | None = None,
             directory: dict | None = None) -> None:
    """Keep what a challenge offered, or what the directory tells; written only when it changed."""
    doc = remembered(store, ca_url)
    new = dict(doc, ca_url=ca_url)
    if offered is not None:
        new["offered"] = list(offered)
    if directory is not None:
        names, source = directory_issuers(directory)
        new["directory"] = {"names": names, "source": source}
    if directory is not None:
        new["hashed_accounturi"] = _hash_prefix(directory) is not None
    if new == doc:
        return
    new["updated"] = to_iso(clock.now())
    ensure_dir(store.path(MEMORY_DIR), durable=True)  # its name too: the memory is written durably
    write_json(memory_path(store, ca_url), new)


def directory_issuers(directory: dict) -> tuple[list[str], str]:
    """Issuer domain names the directory gives, and from which field; ([], UNKNOWN) if none."""
    meta = directory.get("meta") if isinstance(directory, dict) else None
    if not isinstance(meta, dict):
        return [], IssuerSource.UNKNOWN
    for key, source in (("issuerDomainNames", IssuerSource.DIRECTORY), ("caaIdentities", IssuerSource.CAA_IDENTITIES)):
        names = _valid_names(meta.get(key))
        if names:
            return names, source
    return [], IssuerSource.UNKNOWN


def _hash_prefix(directory: dict) -> str | None:
    """draft -02 replaces the account URL in the record by a hashed URI under this prefix."""
    meta = directory.get("meta") if isinstance(directory, dict) else None
    prefix = meta.get("accountHashPrefix") if isinstance(meta, dict) else None
    return prefix if isinstance(prefix, str) and prefix else None


HASHED_WARNING = ("the CA's directory advertises accountHashPrefix (draft-ietf-acme-dns-persist-02: a hashed "
                  "account URI instead of the account URL), which this version does not build; the CA may refuse "
                  "this record")


def _valid_names(raw: object) -> list[str]:
    if not isinstance(raw, list):
        return []
    out = []
    for name in raw[:10]:
        try:
            out.append(check_issuer(name, "issuer"))
        except ChallengeError:
            continue  # a name no record could use: ignored
    return out


def known_issuers(memory: dict) -> list[str]:
    """What the solver prefers among the names a challenge offers, so that it expects the record
    records_for() showed: the directory's names first (the draft lets challenges add names of
    their own to them), then the last challenge's in its order."""
    names = list((memory.get("directory") or {}).get("names", []))
    names += [n for n in memory.get("offered") or [] if n not in names]
    return names


def _issuer(cfg: MdConfig, memory: dict) -> tuple[str | None, str]:
    chal = cfg.challenge
    if chal.dns_persist_issuer:
        return chal.dns_persist_issuer, IssuerSource.CONFIG
    if memory.get("offered"):
        return choose_issuer(None, memory["offered"], known_issuers(memory)), IssuerSource.CHALLENGE
    directory = memory.get("directory") or {}
    if directory.get("names"):
        return directory["names"][0], directory.get("source") or IssuerSource.DIRECTORY
    return None, IssuerSource.UNKNOWN


def _no_account(cfg: MdConfig, ca: CaConfig, store: Store) -> str:
    what = "no ACME account for %s in the store %s yet, and the record names the account URL: " % (ca.url, store.root)
    if not cfg.may_register:
        return what + ("this host uses the fleet's account held by %s (mdfleet account ensure there), which "
                       "playbooks/distribute.yml brings here" % cfg.account_holder)
    return what + "mdfleet account ensure registers it without an order (so does the first order)"


def record_names(cfg: MdConfig) -> list[tuple[str, list[str], bool]]:
    """(validation name, the identifiers it serves, whether one is a wildcard) per record."""
    groups: dict[str, tuple[list[str], list[bool]]] = {}
    for name in cfg.domains:
        entry = groups.setdefault(validation_name(name), ([], []))
        entry[0].append(name)
        entry[1].append(name.startswith("*."))
    return [(rname, idents, any(wild)) for rname, (idents, wild) in groups.items()]


def records_for(store: Store, cfg: MdConfig, clock: Clock, fetch: DirectoryFetch | None = None) -> list[dict]:
    """The records to publish for ``cfg``, one per validation name and CA. An entry whose value
    cannot be given yet says why in ``missing`` (and has ``value`` None)."""
    chal = cfg.challenge
    out = []
    for ca in cfg.cas:
        memory = remembered(store, ca.url)
        issuer, source = _issuer(cfg, memory)
        notes = []
        if issuer is None and fetch is not None:
            try:
                directory = fetch(ca)
            except MdError as exc:
                notes.append("the CA's directory could not be read: %s" % exc)
            else:  # not written to the store: only locked runs write there
                names, found = directory_issuers(directory)
                memory = dict(memory, directory={"names": names, "source": found},
                              hashed_accounturi=_hash_prefix(directory) is not None)
                issuer, source = _issuer(cfg, memory)
        if memory.get("hashed_accounturi"):
            notes.append(HASHED_WARNING)
        account = AccountStore(store.path("accounts")).load(ca.url, ca.eab_kid)
        missing = []
        if account is None:
            missing.append(_no_account(cfg, ca, store))
        if issuer is None:
            missing.append("the CA's issuer domain name is not known yet: its directory names none, so the first "
                           "order learns it (its pre-check then names the record; nothing is validated at the CA)")
        for rname, idents, wildcard in record_names(cfg):
            entry = {"md": cfg.name, "ca_url": ca.url, "name": rname, "type": "TXT", "identifiers": idents,
                     "issuer_domain_name": issuer, "issuer_source": source,
                     "account_uri": account[0].url if account else None,
                     "policy": POLICY_WILDCARD if chal.dns_persist_policy == POLICY_WILDCARD else None,
                     "persist_until": to_iso(utc_from_timestamp(chal.dns_persist_until))
                     if chal.dns_persist_until else None,
                     "value": None, "zone_line": None, "warnings": list(notes), "missing": list(missing)}
            if wildcard and entry["policy"] is None:
                entry["warnings"].append("a wildcard needs policy=wildcard (dns_persist_policy: wildcard)")
            if chal.dns_persist_until and chal.dns_persist_until < clock.now().timestamp():
                entry["warnings"].append("persistUntil %s has passed: the CA no longer accepts this record"
                                         % entry["persist_until"])
            if not missing:
                try:
                    entry["value"] = build_value(issuer, account[0].url, entry["policy"] is not None,
                                                 chal.dns_persist_until)
                except ChallengeError as exc:
                    entry["missing"].append(str(exc))
                else:
                    entry["zone_line"] = zone_text(rname, entry["value"])
            out.append(entry)
    return out


def records_or_none(store: Store, cfg: MdConfig, clock: Clock, fetch: DirectoryFetch | None) -> list[dict] | None:
    """records_for() for a dns-persist-01 domain (None for other challenges), never raising: a
    result or an error report must not be lost to a failure of showing the records."""
    if cfg.challenge.type != ChallengeType.DNSPERSIST01:
        return None
    try:
        return records_for(store, cfg, clock, fetch)
    except (MdError, OSError) as exc:
        return [{"md": cfg.name, "value": None, "missing": ["the records could not be read: %s" % exc]}]


def check_published(entry: dict, values: list[str], offered: list[str] | None, now: datetime.datetime) -> dict:
    """Whether the TXT values found at the entry's name would satisfy the CA: adds ``published``
    (bool) and ``found`` (the values) and, when not, ``problem``."""
    checked = dict(entry, found=list(values))
    if not entry.get("value"):
        checked["published"] = None
        return checked
    wildcard = any(i.startswith("*.") for i in entry["identifiers"])
    verdict = evaluate(values, offered or [entry["issuer_domain_name"]], entry["account_uri"], wildcard, now)
    checked["published"] = verdict.ok
    if not verdict.ok:
        checked["problem"] = "no TXT record" if not values else verdict.summary()
    return checked


__all__ = ["IssuerSource", "records_for", "records_or_none", "remember", "remembered", "known_issuers",
           "directory_issuers", "check_published", "record_names", "memory_path"]
