"""Obtaining a certificate set for one managed domain: staging, resume, per-key-type orders,
checks of what the CA sent, and activation. Called with the store lock held."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

try:
    from cryptography.hazmat.primitives import serialization
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from .acme.account import AccountOptions, AccountStore, ensure_account, rollover_key
from .acme.account_gate import ACCOUNTS
from .acme.order import OrderFlow, OrderRequest
from .acme.problems import AcmeProblemError, OrderDeadError
from .acme.resources import ChallengeType
from .acme.transport import AcmeTransport, TransportOptions
from .certs import CertFacts, split_pem_chain, to_pem
from .challenges.base import Solver
from .challenges.dnspersist01 import DnsPersistSolver
from .clock import Clock, Deadline
from .config import HTTP01_STANDALONE, AccountConfig, CaConfig, DnsProvider, MdConfig, account_config_of
from .errors import ConfigError, MdError, NoAccountError
from .events import URGENT, EventName, EventSink
from .fsutil import atomic_write, atomic_write_many, ensure_dir, read_bytes
from .keys import generate_key, key_from_pem, key_to_pem, make_csr
from .keytypes import key_spec
from .persist_records import known_issuers, remember, remembered
from .state.certset import CertInfo, CertSet
from .state.fields import CorruptStateError
from .state.order import OrderState
from .store import CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE, KEY_FILE, SET_FILES, Store


def make_solvers(cfg: MdConfig, store: Store, clock: Clock, ca_url: str = "",
                 directory: dict | None = None) -> dict[str, Solver]:
    # The solvers are imported when an order needs one: http.server, the DNS UPDATE client and
    # the TLS-ALPN listener are no part of a run with nothing due.
    chal = cfg.challenge
    if chal.type == ChallengeType.DNSPERSIST01:
        return {ChallengeType.DNSPERSIST01: _persist_solver(cfg, store, clock, ca_url, directory)}
    if chal.type == ChallengeType.DNS01 and chal.dns_provider == DnsProvider.RFC2136 and chal.rfc2136:
        from .challenges.rfc2136 import Rfc2136Solver

        return {ChallengeType.DNS01: Rfc2136Solver(chal.rfc2136, clock, chal.dns_propagation_seconds)}
    if chal.type == ChallengeType.DNS01:
        from .challenges.dns01 import DnsCommandSolver

        return {ChallengeType.DNS01: DnsCommandSolver(chal.dns_command, clock, chal.dns_propagation_seconds,
                                                      chal.dns_command_timeout)}
    if chal.type == ChallengeType.TLSALPN01:
        from .challenges.tlsalpn01 import TlsAlpnSolver

        return {ChallengeType.TLSALPN01: TlsAlpnSolver(chal.standalone_address, chal.tls_alpn_port)}
    from .challenges.http01 import StandaloneSolver, WebrootSolver

    if chal.http01_mode == HTTP01_STANDALONE:
        return {ChallengeType.HTTP01: StandaloneSolver(chal.standalone_address, chal.standalone_port)}
    return {ChallengeType.HTTP01: WebrootSolver(store.challenges_dir)}


def _persist_solver(cfg: MdConfig, store: Store, clock: Clock, ca_url: str, directory: dict | None) -> Solver:
    """dns-persist-01 prefers the issuer domain name the operator was shown (by mdfleet
    dns-persist-record, from the same memory and directory) and remembers what the CA offers."""
    if directory is not None:
        remember(store, ca_url, clock, directory=directory)
    return DnsPersistSolver(cfg.challenge.persist_options(), clock, known_issuers(remembered(store, ca_url)),
                            on_offered=lambda names: remember(store, ca_url, clock, offered=names))


class TransportSettings(Protocol):
    """What a transport takes from a domain's (MdConfig) or an account's (AccountConfig) config."""

    proxy: str | None
    request_timeout: float


# One transport per CA for all orders of a run (and of the process): the directory is fetched
# once, nonces from every answer feed one pool, keep-alive connections and TLS sessions are
# shared, instead of each order paying a directory GET, a newNonce HEAD and a handshake.
_TRANSPORTS: dict[tuple, AcmeTransport] = {}
_TRANSPORTS_LOCK = threading.Lock()


def _verify_for(ca: CaConfig) -> bool | str:
    # What requests picked with trust_env on: the configured bundle, else the one the
    # environment names, else the default trust store. A configured bundle that is not there is
    # this domain's bad input (the TLS context would raise an OSError that reads like a store failure).
    if ca.ca_bundle and not os.path.isfile(ca.ca_bundle):
        raise ConfigError("ca_bundle %s (for %s) does not exist or is not a file" % (ca.ca_bundle, ca.url))
    return ca.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def transport_for(ca: CaConfig, cfg: TransportSettings, clock: Clock) -> AcmeTransport:
    """The shared transport to ``ca``; ``cfg`` (a domain's or an account's config) gives proxy and
    timeout. An explicit ``proxy`` wins over HTTPS_PROXY / NO_PROXY, which are read once per CA."""
    verify = _verify_for(ca)
    key = (ca.url, verify, cfg.proxy, cfg.request_timeout, id(clock))
    with _TRANSPORTS_LOCK:
        found = _TRANSPORTS.get(key)
        if found is None:
            found = _TRANSPORTS[key] = AcmeTransport(
                ca.url, clock, TransportOptions(verify=verify, proxy=cfg.proxy, request_timeout=cfg.request_timeout))
        return found


def forked_transports() -> None:
    """In a forked order process: a transport of its own per CA (its own connections; nonces are
    never used twice), with the directory the run fetched. The run's are kept unclosed: their
    connections are the run's."""
    with _TRANSPORTS_LOCK:
        for key, theirs in list(_TRANSPORTS.items()):
            _INHERITED.append(theirs)
            _TRANSPORTS[key] = theirs.fresh()


_INHERITED: list[AcmeTransport] = []


def fetch_directory(ca: CaConfig, cfg: MdConfig, clock: Clock) -> dict:
    """The CA's directory: one GET, no account (for what a record needs before any order)."""
    return transport_for(ca, cfg, clock).directory(Deadline(clock, cfg.request_timeout))


# How obtain() gets its transport; tests pass one whose HTTP client is a fake CA.
TransportFactory = Callable[[CaConfig, TransportSettings, Clock], AcmeTransport]


def account_options_for(acct: AccountConfig) -> AccountOptions:
    ca = acct.ca
    return AccountOptions(contact=tuple(acct.contact), agree_tos=acct.agree_tos, key_type=acct.account_key_type,
                          eab_kid=ca.eab_kid, eab_hmac_key=ca.eab_hmac_key, eab_alg=ca.eab_alg)


def account_options(ca: CaConfig, cfg: MdConfig) -> AccountOptions:
    return account_options_for(account_config_of(cfg, ca))


def no_account_error(ca: CaConfig, holder: str | None) -> NoAccountError:
    kid = " (EAB kid %s)" % ca.eab_kid if ca.eab_kid else ""
    return NoAccountError("no ACME account for %s%s in the store: this host uses the fleet's account held by %s; "
                          "run playbooks/distribute.yml" % (ca.url, kid, holder))


def check_may_use_account(store: Store, cfg: MdConfig, ca: CaConfig) -> None:
    """A host that does not hold the fleet's accounts never registers one: it needs the holder's."""
    if not cfg.may_register and AccountStore(store.path("accounts")).load(ca.url, ca.eab_kid) is None:
        raise no_account_error(ca, cfg.account_holder)


def _pending_matches(pending: OrderState | None, cfg: MdConfig, ca: CaConfig) -> bool:
    return pending is not None and pending.matches(cfg.domains, cfg.key_types, ca.url)


def _keep_files(store: Store, md: str, staging: str, key_types: list[str]) -> None:
    """Copy the active certificates of ``key_types`` into staging: they go into the new set as they
    are (a key type added to a domain does not renew the others)."""
    active = store.active_dir(md)
    for kt in key_types:
        folder = ensure_dir(os.path.join(staging, kt))
        if os.path.exists(os.path.join(folder, FULLCHAIN_FILE)):
            continue  # copied before an interruption
        for name in SET_FILES:  # fullchain last: it marks "done"
            data = read_bytes(os.path.join(active, kt, name))
            if data is None:
                raise MdError("the active set of %s lacks %s/%s" % (md, kt, name))
            atomic_write(os.path.join(folder, name), data, 0o600 if name == KEY_FILE else 0o644)


def keep_only(store: Store, cfg: MdConfig, clock: Clock, keep: list[str]) -> CertSet:
    """Activate a new set holding only the active certificates of ``keep`` (key types were removed
    from the configuration): nothing is ordered, no CA is contacted. Returns set.json."""
    current = store.active_set(cfg.name)
    if current is None:
        raise MdError("managed domain %s has no active set to keep certificates of" % cfg.name)
    store.discard_staging(cfg.name)
    staging = store.begin_staging(OrderState(cfg.name, list(cfg.domains), list(keep), current.ca_url))
    _keep_files(store, cfg.name, staging, keep)
    cert_set = current.with_changes(key_types=list(keep), created=clock.now(),
                                    orders={kt: url for kt, url in current.orders.items() if kt in keep},
                                    certs={kt: current.certs[kt] for kt in keep})
    return store.activate(cfg.name, cert_set)


def obtain(store: Store, cfg: MdConfig, ca: CaConfig, clock: Clock, events: EventSink,
           deadline: Deadline, replaces: dict | None = None,
           transport_factory: TransportFactory = transport_for, keep: list[str] | None = None,
           urgent: bool = False) -> CertSet:
    """Order (or resume) one certificate per key type and activate the set; returns set.json.
    ``keep``: key types whose active certificates go into the new set unchanged (only when the
    active set is from this CA: a set holds the certificates of one CA). The activation's events
    (``renewed``, ``installed``; ``urgent``: after a revocation) are remembered with it, so a
    killed run's are fired by the next one."""
    if cfg.imported:  # the manager never plans an order for it; this guards every other caller
        raise ConfigError("managed domain %s is ordered by %s, not on this host" % (cfg.name, cfg.issuer))
    check_may_use_account(store, cfg, ca)
    transport = transport_factory(ca, cfg, clock)
    account, key = ACCOUNTS.ensure(transport, AccountStore(store.path("accounts"), note=store.note),
                                   account_options(ca, cfg), deadline)
    pending = _pending_or_none(store, cfg.name)
    if pending is None or not _pending_matches(pending, cfg, ca):
        store.discard_staging(cfg.name)
        pending = OrderState(cfg.name, list(cfg.domains), list(cfg.key_types), ca.url)
        store.begin_staging(pending)
    staging = store.staging_dir(cfg.name)
    current = store.intact_set(cfg.name)
    keep = [kt for kt in (keep or []) if current is not None and current.ca_url == ca.url and kt in current.certs]
    _keep_files(store, cfg.name, staging, keep)
    directory = transport.directory(deadline) if cfg.challenge.type == ChallengeType.DNSPERSIST01 else None
    solvers = make_solvers(cfg, store, clock, ca.url, directory)
    resumed = set(pending.orders) | set(pending.ordering)  # key types whose order an earlier run made

    def flow_for(kt: str) -> OrderFlow:
        def remember(url: str) -> None:
            pending.orders[kt] = url
            pending.ordering.pop(kt, None)
            store.save_order(pending)

        return OrderFlow(transport, account, key, solvers, clock, on_event=lambda ev: events.fire(ev, cfg.name),
                         on_order_url=remember, on_warning=lambda text: store.note("%s: %s" % (cfg.name, text)))

    try:
        for kt in cfg.key_types:
            folder = ensure_dir(os.path.join(staging, kt))
            if os.path.exists(os.path.join(folder, FULLCHAIN_FILE)) and _staged_usable(store, staging, kt):
                continue  # downloaded before an interruption

            cert_key, new_key = _staging_key(store, folder, kt)
            try:
                _order_key_type(store, cfg, kt, pending, folder, cert_key, flow_for(kt), deadline, replaces)
            except ForeignKeyError:
                if not (new_key and kt in resumed):
                    raise
                # The staged key was lost (set aside) after the resumed order was finalized with it:
                # that order's certificate is for a key nobody has. A new order for the new key.
                _order_key_type(store, cfg, kt, pending, folder, cert_key, flow_for(kt), deadline, replaces)
    finally:
        for solver in {id(s): s for s in solvers.values()}.values():
            solver.close()
    orders = {kt: url for kt, url in current.orders.items() if kt in keep} if current else {}
    orders.update(pending.orders)
    cert_set = CertSet(md=cfg.name, names=list(cfg.domains), key_types=list(cfg.key_types), ca_url=ca.url,
                       account_url=account.url, created=clock.now(), orders=orders,
                       certs={kt: current.certs[kt] if current and kt in keep else cert_info(_facts(staging, kt))
                              for kt in cfg.key_types})
    announce = {EventName.RENEWED: {"serials": cert_set.serials(), URGENT: urgent},
                EventName.INSTALLED: {URGENT: urgent}}
    return store.activate(cfg.name, cert_set, events=announce)


class ForeignKeyError(MdError):
    """The CA's certificate is not for the key in staging."""


def _order_key_type(store: Store, cfg: MdConfig, kt: str, pending: OrderState, folder: str, cert_key,
                    flow: OrderFlow, deadline: Deadline, replaces: dict | None) -> None:
    """Order (or resume) the certificate of one key type and write it into staging. The order's
    URL is remembered in order.json as soon as the CA gives it (flow's on_order_url)."""
    if kt not in pending.orders and kt in pending.ordering:  # killed between newOrder and its URL
        lost = flow.find_lost_order(list(cfg.domains), set(pending.orders.values()), deadline)
        if lost:
            flow.on_order_url(lost)
    if kt not in pending.orders:  # written before newOrder: see OrderState.ordering
        pending.ordering[kt] = store.clock.now()
        store.save_order(pending)
    req = OrderRequest(names=list(cfg.domains), csr_der=make_csr(cert_key, list(cfg.domains)),
                       resume_url=pending.orders.get(kt), profile=cfg.profile,
                       replaces=(replaces or {}).get(kt), preferred_chain=cfg.preferred_chain)
    try:
        issued = flow.run(req, deadline)
    except OrderDeadError:
        pending.orders.pop(kt, None)  # resuming a dead order would only fail again
        store.save_order(pending)
        raise
    except AcmeProblemError:
        if kt not in pending.orders and pending.ordering.pop(kt, None):  # the CA refused: no order exists
            store.save_order(pending)
        raise
    try:
        _write_chain(folder, issued.fullchain_pem, cert_key, cfg.domains)
    except MdError:
        # Resuming this (valid) order would download the same bad certificate forever.
        pending.orders.pop(kt, None)
        store.save_order(pending)
        raise


def _pending_or_none(store: Store, md: str) -> OrderState | None:
    """The order in staging; one that does not read is set aside (its orders are lost: a new one
    is made) and staging starts afresh."""
    try:
        return store.pending_order(md)
    except CorruptStateError as exc:
        store.set_aside_corrupt(exc)
        return None


def rollover_account(store: Store, cfg: MdConfig, clock: Clock) -> str:
    """Replace the account key at the first CA (RFC 8555 7.3.5); returns the new key's thumbprint."""
    ca = cfg.cas[0]
    if not cfg.may_register:
        raise ConfigError("the ACME account of %s is held by %s: roll its key over there, then distribute it"
                          % (ca.url, cfg.account_holder))
    transport = transport_for(ca, cfg, clock)
    deadline = Deadline(clock, cfg.order_timeout)
    accounts = AccountStore(store.path("accounts"), note=store.note)
    with ACCOUNTS.exclusive(accounts.folder(ca.url, ca.eab_kid)):
        account, key = ensure_account(transport, accounts, account_options(ca, cfg), deadline)
        new = rollover_key(transport, accounts, account, key, cfg.account_key_type, deadline)
    return new.thumbprint()


def _staging_key(store: Store, folder: str, key_type: str) -> tuple[object, bool]:
    """The key for this order and whether it is new: kept in staging so a resumed order finalizes
    with the same key. One that does not read (an empty file too) is set aside and the order goes
    on with a new key (a CSR of any key finalizes a pending order; one finalized already is
    ordered again: ForeignKeyError in obtain)."""
    path = os.path.join(folder, KEY_FILE)
    try:
        pem = read_bytes(path)
    except IsADirectoryError:
        pem = b""
    if pem is not None:
        try:
            return key_from_pem(pem), False
        except Exception as exc:  # whatever the PEM parser makes of garbage
            reason = "empty" if not pem.strip() else "not a private key (%s)" % type(exc).__name__
            store.set_aside_corrupt(CorruptStateError(path, reason))
    key = generate_key(key_spec(key_type))
    # Flushed by activate() with the set; lost in a power cut: set aside, a new key (ForeignKeyError)
    atomic_write(path, key_to_pem(key), durable=False)
    return key, True


def _write_chain(folder: str, fullchain: bytes, key, names: list[str]) -> None:
    """Check that the CA sent a certificate for our key and names, then write it (fullchain last)."""
    certs = split_pem_chain(fullchain)
    leaf = certs[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(serialization.Encoding.DER, pub) != \
            key.public_key().public_bytes(serialization.Encoding.DER, pub):
        raise ForeignKeyError("CA returned a certificate for another key")
    missing = set(names) - set(CertFacts.of(leaf).names)
    if missing:
        raise MdError("CA returned a certificate without %s" % ", ".join(sorted(missing)))
    atomic_write_many(folder, [(CERT_FILE, to_pem(leaf), 0o644),  # flushed with the key by activate()
                               (CHAIN_FILE, b"".join(to_pem(c) for c in certs[1:]), 0o644),
                               (FULLCHAIN_FILE, b"".join(to_pem(c) for c in certs), 0o644)], durable=False)


def _staged_usable(store: Store, staging: str, kt: str) -> bool:
    """A certificate downloaded before an interruption, for the staged key? One that does not read
    is set aside: the order (its URL is remembered) downloads it again."""
    folder = os.path.join(staging, kt)
    try:
        fullchain = read_bytes(os.path.join(folder, FULLCHAIN_FILE)) or b""
        leaf = split_pem_chain(fullchain)[0]
        key = key_from_pem(read_bytes(os.path.join(folder, KEY_FILE)) or b"")
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        # flushed only at the seal: a power cut may leave one of the three empty or old
        parts = [read_bytes(os.path.join(folder, name)) or b"" for name in (CERT_FILE, CHAIN_FILE)]
        if b"".join(parts) != fullchain:
            reason = "its cert.pem and chain.pem are not its fullchain.pem"
        elif leaf.public_key().public_bytes(serialization.Encoding.DER, pub) == \
                key.public_key().public_bytes(serialization.Encoding.DER, pub):
            _facts(staging, kt)
            return True
        else:
            reason = "its certificate is not for the staged key"
    except Exception as exc:  # garbage in a staged file, whatever the parser raises
        reason = "does not read (%s)" % type(exc).__name__
    for name in (FULLCHAIN_FILE, CERT_FILE, CHAIN_FILE):
        if os.path.lexists(os.path.join(folder, name)):
            store.set_aside_corrupt(CorruptStateError(os.path.join(folder, name), "staged, but %s" % reason))
    return False


def _facts(folder_root: str, kt: str) -> CertFacts:
    pem = read_bytes(os.path.join(folder_root, kt, CERT_FILE)) or b""
    return CertFacts.of(split_pem_chain(pem)[0])


def cert_info(facts: CertFacts) -> CertInfo:
    return CertInfo(serial=facts.serial, sha256_fingerprint=facts.sha256_fingerprint, issuer=facts.issuer,
                    subject=facts.subject, names=list(facts.names), not_before=facts.not_before,
                    not_after=facts.not_after, ocsp_url=facts.ocsp_url, ari_cert_id=facts.ari_cert_id)
