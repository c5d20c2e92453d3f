"""The facade: plan what a managed domain needs and make it so (mod_md's "drive").

Plans are made from the store alone, so a run with nothing to do orders nothing and check mode
answers from the plan without acting; the only CA request such a run may make is the ARI poll
(renewalInfo, no more often than the CA's Retry-After allows, ari.py).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import horizon
from .acme.problems import AcmeProblemError
from .acme.resources import ChallengeType
from .ari import FIRST_CHECK, ari_due, refresh_ari
from .clock import Clock, Deadline, to_iso
from .config import MdConfig
from .due import due_times
from .errors import ConfigError, DeadlineExceeded, MdError, StoreError
from .events import NO_EVENTS, URGENT, EventName, EventSink
from .ocsp.persist import revocation_known
from .options.host import HOST
from .policy import backoff_seconds
from .state.certset import CertSet
from .state.fields import CorruptStateError, NewerStateError
from .state.job import AriState, ConfigSnapshot, FleetSnapshot, JobError, JobState
from .store import CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE, KEY_FILE, Store
from .window import Window

DEFAULT_WORKERS: int = HOST["workers"].default  # the host option's default (the option table)

if TYPE_CHECKING:  # the order machinery (issuance, the ACME client, cryptography) is imported when a
    # domain is due: a run with nothing to order never loads it
    from .issuance import TransportFactory


class Action:
    NONE = "none"
    ORDER = "order"
    BACKOFF = "backoff"
    POSTPONED = "postponed"
    AWAIT_ISSUER = "await-issuer"  # a shared domain imported here: waiting for the issuer's set


class Reason:
    NO_CERT = "no certificate yet"
    NAMES_CHANGED = "names changed"
    KEYS_CHANGED = "key types changed"  # a member's set: the issuer must deliver the configured ones
    KEYS_ADDED = "key types added"  # only the new key types are ordered
    KEYS_REMOVED = "key types removed"  # the set is activated again without them, nothing is ordered
    CA_CHANGED = "CA changed"
    RENEW_WINDOW = "renew window reached"
    FORCED = "forced"
    RESUME = "an interrupted order is resumed"
    ARI = "renewal time suggested by the CA (ARI) reached"
    REVOKED = "certificate revoked (OCSP)"
    NOT_IMPORTED = "no set imported from the issuer yet"
    DAMAGED = "the active set is damaged"
    ISSUER_LATE = "renew window reached: the issuer should have renewed (distribution is late)"


# Reasons that concern only the set's key types: the certificates of the other key types stay as they
# are (also when an order for an added key type is resumed).
KEY_TYPE_REASONS = frozenset({Reason.KEYS_ADDED, Reason.KEYS_REMOVED, Reason.RESUME})


@dataclass
class Plan:
    md: str
    action: str
    reasons: list[str] = field(default_factory=list)
    renew_at: datetime.datetime | None = None
    retry_at: datetime.datetime | None = None
    keep: list[str] = field(default_factory=list)  # key types whose active certificates go into the new set
    damage: str | None = None  # what is wrong with the active set (its set.json or a file)


@dataclass
class MdResult:
    md: str
    action: str
    changed: bool
    reasons: list[str]
    renew_at: str | None
    certificates: dict
    order_urls: dict
    error: str | None = None
    problem: dict | None = None
    valid: bool = False  # every configured key type has an active certificate that has not expired
    last_error: str | None = None  # the job's latest failure (kept while it backs off)
    retry_at: str | None = None  # when a backing-off domain is tried again
    damage: str | None = None  # the active set was found damaged (and is replaced where ordered here)


def config_digest(cfg: MdConfig, store: Store | None = None) -> str:
    """What makes a config 'different input' for backoff purposes (no secrets in it). On a host
    that uses the fleet's account holder, the accounts distributed to it count as input too: an
    account arriving ends the backoff of "no ACME account"."""
    chal = cfg.challenge
    doc: dict = {"names": cfg.domains, "keys": cfg.key_types, "cas": [c.url for c in cfg.cas],
                 "challenge": chal.type, "profile": cfg.profile}
    if chal.type == ChallengeType.DNSPERSIST01:  # another record is other input
        doc["dns_persist"] = [chal.dns_persist_policy, chal.dns_persist_until, chal.dns_persist_issuer]
    if store is not None and not cfg.may_register:
        from .acme.account import AccountStore

        accounts = AccountStore(store.path("accounts"))
        doc["accounts"] = [accounts.load(c.url, c.eab_kid) is not None for c in cfg.cas]
    if chal.rfc2136 is not None:  # a fixed server, zone or key file is new input (the secret is not here)
        doc["rfc2136"] = chal.rfc2136.public()
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def effective_renew_at(current: CertSet, job: JobState, cfg: MdConfig) -> tuple[datetime.datetime | None, bool]:
    """When the active set is due, and whether that time came from the CA's ARI window
    (due.due_times: the one rule, shared with the status views)."""
    due = due_times(current, Window.parse(cfg.renew_window), Window.parse(cfg.warn_window),
                    job.ari if cfg.ari and not cfg.imported else None)
    return due.renew_at, due.via_ari


def _revoked(store: Store, md: str, current: CertSet) -> bool:
    """Stapling found an active certificate revoked: an emergency renewal (with a new key, which
    every order gets). Compared by fingerprint, so the renewed certificate is not flagged."""
    return any(revocation_known(store, md, kt, facts.sha256_fingerprint) for kt, facts in current.certs.items())


def resumable(store: Store, cfg: MdConfig) -> bool:
    """Whether staging holds an interrupted renewal for this very configuration that a run can
    finish: an order still in flight, or a certificate already downloaded for a key type. (An
    order that failed is forgotten when it fails, so a later attempt is not called a resume.)
    An order.json that does not read is none: the order sets it aside."""
    try:
        pending = store.pending_order(cfg.name)
    except (CorruptStateError, NewerStateError):
        return False
    if pending is None or not any(pending.matches(cfg.domains, cfg.key_types, ca.url) for ca in cfg.cas):
        return False
    return store.order_in_progress(cfg.name, list(cfg.key_types))


def forced_member_error(cfg: MdConfig) -> ConfigError:
    return ConfigError("%s is a shared domain ordered by %s: renew it there (mdfleet renew --force %s on %s), then "
                       "distribute it (playbooks/distribute.yml)" % (cfg.name, cfg.issuer, cfg.name, cfg.issuer))


def active_or_damage(store: Store, md: str) -> tuple[CertSet | None, str | None]:
    """The active set and what is damaged in it (None: intact). A set.json that does not read is
    no set and the damage; one of a newer mdfleet is refused (NewerStateError)."""
    try:
        current = store.active_set(md)
    except CorruptStateError as exc:
        return None, str(exc)
    return current, store.damage(md, current) if current else None


def member_plan(store: Store, cfg: MdConfig, now: datetime.datetime) -> Plan:
    """A shared domain imported here is never ordered: the plan only says what it waits for. The
    renew window (never ARI: the issuer asks its CA) tells when distribution is late."""
    current, damage = active_or_damage(store, cfg.name)
    plan = Plan(cfg.name, Action.NONE, damage=damage)
    if damage:
        plan.reasons.append(Reason.DAMAGED)
    elif not current:
        plan.reasons.append(Reason.NOT_IMPORTED)
    else:
        plan.renew_at = effective_renew_at(current, JobState(cfg.name), cfg)[0]  # never ARI: the issuer asks
        if not current.same_names(cfg.domains):
            plan.reasons.append(Reason.NAMES_CHANGED)
        if not current.same_key_types(cfg.key_types):
            plan.reasons.append(Reason.KEYS_CHANGED)
        horizon.note(plan.renew_at)
        if plan.renew_at is not None and plan.renew_at <= now:
            plan.reasons.append(Reason.ISSUER_LATE)
        if _revoked(store, cfg.name, current):
            plan.reasons.append(Reason.REVOKED)
    if plan.reasons:
        plan.action = Action.AWAIT_ISSUER
    return plan


_UNREAD = object()  # _result(current=...): not read by the caller, read here


def plan_md(store: Store, cfg: MdConfig, now: datetime.datetime, force: bool = False,
            ignore_backoff: bool = False, *, active: tuple[CertSet | None, str | None] | None = None,
            job: JobState | None = None) -> Plan:
    """What a run does for ``cfg``. ``ignore_backoff`` orders what is due even while backing off
    from errors (what is not due is never ordered: that needs ``force``). ``active`` (the
    active set and its damage, as active_or_damage() says) and ``job``: as the caller read them
    a moment ago."""
    if cfg.imported:
        if force:
            raise forced_member_error(cfg)
        return member_plan(store, cfg, now)
    current, damage = active if active is not None else active_or_damage(store, cfg.name)
    plan = Plan(cfg.name, Action.NONE, damage=damage)
    job = job or store.read_job(cfg.name)
    via_ari = False
    if current:
        plan.renew_at, via_ari = effective_renew_at(current, job, cfg)
    if force:
        plan.reasons.append(Reason.FORCED)
    if damage:  # replaced by a new order (nothing of it is kept): the web server fails on it otherwise
        plan.reasons.append(Reason.DAMAGED)
    active_kts = list(current.key_types) if current else []
    if not current:
        if not damage:
            plan.reasons.append(Reason.NO_CERT)
    else:
        if not current.same_names(cfg.domains):
            plan.reasons.append(Reason.NAMES_CHANGED)
        if set(cfg.key_types) - set(active_kts):  # compared as sets: reordering is no change
            plan.reasons.append(Reason.KEYS_ADDED)
        if set(active_kts) - set(cfg.key_types):
            plan.reasons.append(Reason.KEYS_REMOVED)
        if current.ca_url not in [c.url for c in cfg.cas]:
            plan.reasons.append(Reason.CA_CHANGED)
        if plan.renew_at is not None and plan.renew_at <= now:
            plan.reasons.append(Reason.ARI if via_ari else Reason.RENEW_WINDOW)
        if _revoked(store, cfg.name, current):
            plan.reasons.append(Reason.REVOKED)
    if resumable(store, cfg):
        # a renewal this host decided on (due, or forced) was interrupted: it is finished now,
        # also when nothing else would make the domain due
        plan.reasons.append(Reason.RESUME)
    horizon.note(plan.renew_at)  # due then (quiet.py)
    if not plan.reasons:
        return plan
    plan.action = Action.ORDER
    if current and not damage and set(plan.reasons) <= KEY_TYPE_REASONS and \
            {Reason.KEYS_ADDED, Reason.KEYS_REMOVED} & set(plan.reasons):
        plan.keep = [kt for kt in cfg.key_types if kt in active_kts]
    retry_at = job.next_retry
    same_input = job.last_error is not None and job.input_digest == config_digest(cfg, store)
    if not force and not ignore_backoff and job.errors and retry_at and retry_at > now and same_input:
        plan.action, plan.retry_at = Action.BACKOFF, retry_at
    return plan


def _result(store: Store, cfg: MdConfig, plan: Plan, changed: bool, error: MdError | None = None, *,
            current: CertSet | None | object = _UNREAD, job: JobState | None = None) -> MdResult:
    """``current`` and ``job``: as read for the plan (None for a set that does not read), when
    nothing changed them since (the plan's renew-at is then the set's)."""
    fresh = current is _UNREAD
    if fresh:
        current = store.intact_set(cfg.name)
    certs = {}
    base = store.active_dir(cfg.name)
    for kt, facts in (current.certs if current else {}).items():
        folder = "%s/%s/" % (base, kt)
        certs[kt] = {"serial": facts.serial, "sha256_fingerprint": facts.sha256_fingerprint, "issuer": facts.issuer,
                     "subject": facts.subject, "names": list(facts.names), "not_before": to_iso(facts.not_before),
                     "not_after": to_iso(facts.not_after), "ocsp_url": facts.ocsp_url,
                     "ari_cert_id": facts.ari_cert_id, "cert_path": folder + CERT_FILE,
                     "chain_path": folder + CHAIN_FILE, "fullchain_path": folder + FULLCHAIN_FILE,
                     "key_path": folder + KEY_FILE}
    job = job or store.read_job(cfg.name)
    if not current:
        at = None
    elif fresh or plan.renew_at is None:
        at = effective_renew_at(current, job, cfg)[0]
    else:
        at = plan.renew_at
    problem = error.problem.to_dict() if isinstance(error, AcmeProblemError) else None
    now = store.clock.now()
    damaged = bool(plan.damage) and not changed  # a damaged set that was not replaced in this run
    if current is not None:
        for facts in current.certs.values():
            horizon.note(facts.not_after)  # `valid` changes then (quiet.py)
    valid = current is not None and not damaged and all(
        kt in current.certs and current.certs[kt].not_after > now for kt in cfg.key_types)
    return MdResult(cfg.name, plan.action, changed, plan.reasons, to_iso(at), certs,
                    dict(current.orders) if current else {}, str(error) if error else None, problem, valid=valid,
                    last_error=job.last_error.message if job.last_error else None,
                    retry_at=to_iso(job.next_retry) if job.errors else None, damage=plan.damage)


def config_snapshot(cfg: MdConfig) -> ConfigSnapshot:
    """What status views need to know of the config; never secrets (no EAB key)."""
    fleet = FleetSnapshot(cfg.issuer, list(cfg.members), not cfg.imported) if cfg.issuer else None
    return ConfigSnapshot(names=list(cfg.domains), key_types=list(cfg.key_types), cas=[c.url for c in cfg.cas],
                          challenge=cfg.challenge.type, renew_window=Window.parse(cfg.renew_window).text,
                          warn_window=Window.parse(cfg.warn_window).text, contact=list(cfg.contact),
                          profile=cfg.profile, ari=cfg.ari, fleet=fleet)


def remember_config(store: Store, cfg: MdConfig, save: bool = True) -> JobState:
    """The job with the config's snapshot in it (saved when it changed); returns the job.
    ``save`` False: the job as stored, untouched (see drive_md's ``defer_network``)."""
    job = store.load_job(cfg.name)
    snapshot = config_snapshot(cfg)
    if job.config != snapshot and save:
        job.config = snapshot
        store.save_job(job)
    return job


def _remember_config_quietly(store: Store, cfg: MdConfig) -> None:
    """remember_config for a domain whose plan failed; its failure is what the run reports."""
    try:
        remember_config(store, cfg)
    except MdError:
        pass


def _record_failure(store: Store, cfg: MdConfig, clock: Clock, exc: MdError) -> MdError:
    """Count the failure in the job (backoff); returns the error to raise: ``exc``, or a StoreError
    saying both when the job cannot be written either (a full disk fails both)."""
    try:
        _write_failure(store, cfg, clock, exc)
    except StoreError as failed:
        return StoreError("%s; the failure could not be recorded either: %s" % (exc, failed))
    return exc


def _write_failure(store: Store, cfg: MdConfig, clock: Clock, exc: MdError) -> None:
    job = store.load_job(cfg.name)
    now = clock.now()
    job.errors += 1
    job.last_run = now
    delay = backoff_seconds(job.errors)
    if not exc.retry_hot:
        delay = max(delay, 3600.0)  # bad input: not retried hot
    if exc.retry_after:
        delay = max(delay, exc.retry_after)
    job.next_retry = now + datetime.timedelta(seconds=delay)
    prob = exc.problem if isinstance(exc, AcmeProblemError) else None
    job.last_error = JobError(str(exc), prob.type if prob else None, prob.detail if prob else None,
                              exc.retry_hot)
    job.input_digest = config_digest(cfg, store)
    job.add_log(now, "error", str(exc))
    store.save_job(job)


def _record_success(store: Store, cfg: MdConfig, clock: Clock, cert_set: CertSet,
                    kept: list[str] | None = None) -> None:
    job = store.load_job(cfg.name)
    now = clock.now()
    kept = kept or []
    job.errors, job.next_retry, job.last_error = 0, None, None
    job.last_run = job.last_success = now
    # New certificates: their first ARI check waits a while (a fresh certificate is not due); the
    # ones kept from the previous set keep their ARI state.
    job.ari = {kt: (job.ari[kt] if kt in kept and kt in job.ari else
                    AriState(c.ari_cert_id, next_check=now + FIRST_CHECK))
               for kt, c in cert_set.certs.items() if c.ari_cert_id}
    new = [kt for kt in cert_set.certs if kt not in kept]
    job.add_log(now, "renewed", "new certificate set %s%s" % (
        ", ".join("%s serial %s" % (kt, cert_set.certs[kt].serial) for kt in new) or "without new certificates",
        "; kept %s" % ", ".join(kept) if kept else ""))
    store.save_job(job)


def shared_transport(ca, cfg: MdConfig, clock: Clock):
    """issuance.transport_for, imported at the first request to a CA (an ARI poll or an order)."""
    from .issuance import transport_for

    return transport_for(ca, cfg, clock)


def drive_md(store: Store, cfg: MdConfig, clock: Clock, *, force: bool = False, check_mode: bool = False,
             events: EventSink = NO_EVENTS, transport_factory: TransportFactory | None = None,
             ignore_backoff: bool = False, deadline: Deadline | None = None,
             defer_network: bool = False) -> MdResult | None:
    """Plan and, unless check_mode, obtain. The caller holds the store lock. A shared domain
    imported here is never ordered (``force`` on it is refused, naming its issuer). ``deadline``:
    the run's, which the order's own (order_timeout per CA) never outlasts; an order due when it
    has passed is left for the next run (an error, nothing recorded in the job).
    ``transport_factory``: how ARI polls and orders reach a CA (default: issuance.transport_for).
    ``defer_network``: return None, having changed nothing and fired nothing, where the domain
    needs a CA (an ARI poll is due, or an order): drive_many runs those in its pool."""
    if force and cfg.imported:
        raise forced_member_error(cfg)
    job: JobState | None = None
    current: CertSet | None | object = _UNREAD
    try:
        if check_mode:
            plan = plan_md(store, cfg, clock.now(), force, ignore_backoff)
        else:
            # The job and the active set are read once for the config, ARI, the plan and the
            # result (an idle run read each of them three or four times per domain).
            # A domain handed to the pool writes its snapshot there, in parallel with the others'
            # (on a new store of 100 domains: 200 fsyncs in a row before the first order).
            job = remember_config(store, cfg, save=not defer_network)
            current, damage = active_or_damage(store, cfg.name)
            if cfg.ari and not cfg.imported and current:  # a member has nothing to ask
                if defer_network and ari_due(cfg, current, job, clock.now()):
                    return None
                refresh_ari(store, cfg, clock, transport_factory or shared_transport, timeout=cfg.request_timeout,
                            current=current, job=job)
            plan = plan_md(store, cfg, clock.now(), force, ignore_backoff, active=(current, damage), job=job)
    except MdError as exc:  # the store (a file of a newer mdfleet, a full disk, an account key) or the config
        if check_mode:
            raise
        if defer_network:
            _remember_config_quietly(store, cfg)
        failed = _record_failure(store, cfg, clock, exc)
        events.fire(EventName.ERRORED, cfg.name, {"error": str(failed)})
        raise failed from None
    if defer_network and plan.action == Action.ORDER:
        return None
    if defer_network and not check_mode:  # stays in this thread: its snapshot is written now
        job = remember_config(store, cfg)
    if plan.damage and not check_mode:  # never used silently: reported, and replaced when ordered here
        events.fire(EventName.ERRORED, cfg.name, {"error": plan.damage})
    if plan.action != Action.ORDER:
        return _result(store, cfg, plan, False, current=current, job=job)
    if check_mode:
        return _result(store, cfg, plan, True)
    if deadline is not None and deadline.expired():
        raise DeadlineExceeded("%s not ordered: the run's time (run_timeout) was used up before its turn; "
                               "the next run orders it" % cfg.name)
    from . import issuance  # the order machinery: only now that something is ordered

    if set(plan.keep) == set(cfg.key_types):  # only key types removed: a new set, no CA involved
        set_info = issuance.keep_only(store, cfg, clock, plan.keep)
        _record_success(store, cfg, clock, set_info, kept=plan.keep)
        return _result(store, cfg, plan, True)
    if not events.fire(EventName.RENEWING, cfg.name, {"reasons": plan.reasons}):
        plan.action = Action.POSTPONED
        return _result(store, cfg, plan, False)
    # Failover: each CA gets an order deadline of its own (a first CA stuck in 'processing' must
    # not eat the next one's time), all of them within one bound for the domain.
    total = Deadline(clock, cfg.order_timeout * len(cfg.cas))
    if deadline is not None:
        total = deadline.within(total.seconds)
    last: MdError | None = None
    for ca in cfg.cas:  # failover: the next CA gets its turn when one fails
        try:
            set_info = issuance.obtain(store, cfg, ca, clock, events, total.within(cfg.order_timeout),
                                       replaces=_replaces(store, cfg, ca),
                                       transport_factory=transport_factory or issuance.transport_for,
                                       keep=plan.keep, urgent=Reason.REVOKED in plan.reasons)
        except MdError as exc:
            last = exc
            continue
        except OSError as exc:  # the store failed under us (disk full, read-only): not the CA's fault
            last = StoreError("cannot write the store %s: %s%s" % (
                store.root, exc.strerror or exc, " (%s)" % exc.filename if exc.filename else ""))
            break
        _record_success(store, cfg, clock, set_info, kept=plan.keep)
        if events is not NO_EVENTS:  # else the next run with a message command announces it
            events.fire(EventName.RENEWED, cfg.name, {"serials": set_info.serials(),
                                                      URGENT: Reason.REVOKED in plan.reasons})
            store.event_fired(cfg.name, set_info.set_id, EventName.RENEWED)
        return _result(store, cfg, plan, True)
    if last is None:  # cfg.validate() guarantees at least one CA
        raise MdError("managed domain %s has no CA configured" % cfg.name)
    last = _record_failure(store, cfg, clock, last)
    events.fire(EventName.ERRORED, cfg.name, {"error": str(last), URGENT: Reason.REVOKED in plan.reasons})
    raise last


def ensure_md(store: Store, cfg: MdConfig, clock: Clock | None = None, *, force: bool = False,
              check_mode: bool = False, events: EventSink = NO_EVENTS, lock_wait: float = 60.0,
              transport_factory: TransportFactory | None = None, ignore_backoff: bool = False) -> MdResult:
    """One managed domain, with the store set up, locked and recovered first."""
    clock = clock or store.clock
    cfg.validate()
    if check_mode:
        # Check mode only reads: no folders, no lock file, no recovery; a missing store plans an order.
        if not os.path.isdir(store.path("domains")):
            return _result_without_store(cfg)
        return drive_md(store, cfg, clock, force=force, check_mode=True, events=events,
                        transport_factory=transport_factory, ignore_backoff=ignore_backoff)
    store.setup()
    with store.lock(lock_wait):
        store.recover()
        try:
            return drive_md(store, cfg, clock, force=force, events=events, transport_factory=transport_factory,
                            ignore_backoff=ignore_backoff)
        finally:
            remember_verified(store)


def _replaces(store: Store, cfg: MdConfig, ca) -> dict:
    """ARI cert ids of the certificates a renewal replaces (RFC 9773 "replaces"): only for the same
    CA and names, and only where that CA answered renewalInfo."""
    current = store.intact_set(cfg.name)
    if not cfg.ari or not current or current.ca_url != ca.url or not current.same_names(cfg.domains):
        return {}
    job = store.read_job(cfg.name)
    out = {}
    for kt, facts in current.certs.items():
        ari = job.ari.get(kt)
        if ari is not None and ari.supported and facts.ari_cert_id:
            out[kt] = facts.ari_cert_id
    return out


def no_valid_certificate(result: MdResult) -> str:
    """Why a domain is left without a valid certificate, for a task or command that must fail."""
    text = "managed domain %s has no valid certificate" % result.md
    if result.last_error:
        text += ": the last order failed (%s)" % result.last_error
    if result.action == Action.BACKOFF and result.retry_at:
        text += "; next attempt at %s (or now with force)" % result.retry_at
    elif result.action == Action.POSTPONED:
        text += "; the renewing event postponed the order"
    return text


def _result_without_store(cfg: MdConfig) -> MdResult:
    if cfg.imported:
        return MdResult(cfg.name, Action.AWAIT_ISSUER, False, [Reason.NOT_IMPORTED], None, {}, {})
    return MdResult(cfg.name, Action.ORDER, True, [Reason.NO_CERT], None, {}, {})


def drive_many(store: Store, cfgs: list[MdConfig], clock: Clock, *, workers: int = DEFAULT_WORKERS,
               force: bool = False, events: EventSink = NO_EVENTS, transport_factory: TransportFactory | None = None,
               ignore_backoff: bool = False, deadline: Deadline | None = None,
               processes: int | None = None) -> list[MdResult | MdError]:
    """Several managed domains, ``workers`` orders at a time; the caller holds the lock. Errors are
    returned in place of results so one failing domain never stops the others. ``force`` applies
    to the domains ordered here (callers refuse a forced renewal of a named imported domain).
    ``deadline``: the run's (see drive_md).

    Every domain is planned in this thread first; only those that need a CA (an ARI poll, an
    order) go to the pool of ``workers`` threads (an idle run of 1,000 domains spent as much
    time handing plans of a few dictionary look-ups to threads as making them). On several
    CPUs a share of a big run's due domains goes to a forked order process with a pool of its
    own, ``workers`` shared between the two (mdcore/orderfork.py; ``processes`` 1: never, 2:
    from two due domains on, None: when it pays); not with an injected transport or a message
    command (events stay in this one), nor with one worker."""

    def one(cfg: MdConfig, defer_network: bool) -> MdResult | MdError | None:
        try:
            return drive_md(store, cfg, clock, force=force and not cfg.imported, events=events,
                            transport_factory=transport_factory, ignore_backoff=ignore_backoff,
                            deadline=deadline, defer_network=defer_network)
        except MdError as exc:
            return exc
        except OSError as exc:  # the store under us (full disk, read-only, I/O error)
            return StoreError("cannot use the store for %s: %s%s" % (
                cfg.name, exc.strerror or exc, " (%s)" % exc.filename if exc.filename else ""))
        except Exception as exc:  # a bug must not stop the other domains; said in one line
            return MdError("internal error while handling %s: %s: %s (a bug in mdfleet: please report it)"
                           % (cfg.name, type(exc).__name__, exc))

    results: list[MdResult | MdError | None] = [one(cfg, True) for cfg in cfgs]
    waiting = [i for i, res in enumerate(results) if res is None]
    fork = None
    if transport_factory is None and events is NO_EVENTS and len(waiting) > 1 and workers > 1:
        from . import orderfork  # a share of a big run in a second process: see there

        held = orderfork.share(cfgs, waiting, processes)
        mine, theirs = orderfork.split_workers(workers)
        fork = orderfork.start(store, cfgs, held, lambda cfg: one(cfg, False), clock, deadline, theirs) \
            if held else None
        if fork is not None:
            waiting, workers = [i for i in waiting if i not in set(held)], mine
    if len(waiting) == 1 or (waiting and workers <= 1):
        for i in waiting:
            results[i] = one(cfgs[i], False)
    elif waiting:
        from .workpool import run_each

        for i, res in zip(waiting, run_each(lambda i: one(cfgs[i], False), waiting, workers, "mdfleet-order"),
                          strict=True):
            results[i] = res
    if fork is not None:
        def merge(i: int, result, notes: list[str], verified) -> None:
            results[i] = result
            store.adopt_forked(cfgs[i].name, notes, verified)

        for i, error in fork.collect(merge):
            results[i] = error
            store.forked_gone()
    remember_verified(store)
    return results  # type: ignore[return-value]  # no None is left


def remember_verified(store: Store) -> None:
    """Keep which active sets passed the file check (Store.damage), so the next run only looks at
    their files; when that cannot be written, the next run hashes them again."""
    try:
        store.save_verified()
    except StoreError as exc:
        store.note("%s (the next run checks every active set's files again)" % exc)


def ensure_many(store: Store, cfgs: list[MdConfig], clock: Clock | None = None, *, workers: int = DEFAULT_WORKERS,
                force: bool = False, events: EventSink = NO_EVENTS,
                transport_factory: TransportFactory | None = None) -> list[MdResult | MdError]:
    """drive_many with the store set up, locked and recovered first."""
    clock = clock or store.clock
    for cfg in cfgs:
        cfg.validate()
    store.setup()
    with store.lock():
        store.recover()
        return drive_many(store, cfgs, clock, workers=workers, force=force, events=events,
                          transport_factory=transport_factory)
