"""The status of one managed domain, from the store alone: its active set (set.json), its renewal
job (jobs/<md>.json with the config snapshot and ARI state), an order in staging and its staples.
Every file is read through its typed state (mdcore.state); one that does not read is shown as an
error of that domain, never a crash of the whole view. Nothing secret is read."""

from __future__ import annotations

import datetime

from ..due import due_times
from ..errors import StoreError
from ..ocsp.state import OcspStatus
from ..state.certset import CertInfo, CertSet
from ..state.job import ConfigSnapshot, JobState
from ..storeread import CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE, KEY_FILE, StoreReader
from ..timefmt import human_delta
from ..window import Window
from .model import (
    CertFiles,
    CertView,
    FleetView,
    Health,
    LogEntry,
    MdState,
    MdView,
    RenewalError,
    RenewalView,
)
from .staples import stapling_of

LOG_SHOWN = 10


def _cert_view(store: StoreReader, md: str, base: str, key_type: str, facts: CertInfo, renew: Window, warn: Window,
               now: datetime.datetime, stapling: bool) -> CertView:
    folder = "%s/%s/" % (base, key_type)
    view = CertView(
        key_type=key_type, serial=facts.serial, sha256_fingerprint=facts.sha256_fingerprint,
        issuer=facts.issuer, subject=facts.subject, names=list(facts.names),
        not_before=facts.not_before, not_after=facts.not_after, ocsp_url=facts.ocsp_url,
        ari_cert_id=facts.ari_cert_id,
        files=CertFiles(folder + CERT_FILE, folder + CHAIN_FILE, folder + FULLCHAIN_FILE, folder + KEY_FILE),
        renew_at=renew.start(facts.not_before, facts.not_after), warn_at=warn.start(facts.not_before, facts.not_after))
    if stapling:
        view.staple = stapling_of(store, now, facts.ocsp_url, facts.sha256_fingerprint, md, key_type)
        if view.staple.renew_required:
            view.renew_at = now  # revoked: the manager's plan renews at its next run (Reason.REVOKED)
    return view


def _renewal_view(job: JobState, order_pending: bool) -> RenewalView:
    err = job.last_error
    last_error = RenewalError(err.message, err.problem_type, err.detail) if err else None
    log = [LogEntry(e.when, e.kind, e.detail) for e in job.log[-LOG_SHOWN:]]
    return RenewalView(last_run=job.last_run, last_success=job.last_success, errors=job.errors,
                       next_retry=job.next_retry, last_error=last_error, order_pending=order_pending, log=log)


def _judge(md: MdView, has_set: bool, now: datetime.datetime, problem: str | None) -> None:
    """state (mod_md's int + text) and health (colour, urgency) of a managed domain. ``problem``:
    a store file of the domain that does not read."""
    renewal = md.renewal or RenewalView()
    present = [c.key_type for c in md.certs]
    missing = [kt for kt in md.key_types if kt not in present] if md.key_types else []
    covered = set()
    for cert in md.certs:
        covered.update(cert.names)
    uncovered = [n for n in md.domains if n not in covered] if md.certs else []
    expired = [c for c in md.certs if c.not_after is not None and c.not_after <= now]
    revoked = [c for c in md.certs if c.staple is not None and c.staple.status == OcspStatus.REVOKED]
    staple_lost = [c for c in md.certs if c.staple is not None and c.staple.status == OcspStatus.EXPIRED]
    first = md.certs[0].key_type if md.certs else (md.key_types[0] if md.key_types else "?")
    if problem and not has_set:
        md.state, md.state_descr = MdState.ERROR, problem
    elif not has_set:
        md.state, md.state_descr = MdState.INCOMPLETE, "certificate(%s) is missing" % first
    elif missing:
        md.state, md.state_descr = MdState.INCOMPLETE, "certificate(%s) is missing" % missing[0]
    elif uncovered:
        md.state = MdState.INCOMPLETE
        md.state_descr = "certificate(%s) does not cover all domains (%s)" % (first, ", ".join(uncovered))
    elif expired:
        md.state, md.state_descr = MdState.EXPIRED, "certificate(%s) has expired" % expired[0].key_type
    elif revoked:
        md.state, md.state_descr = MdState.ERROR, "certificate(%s) is revoked" % revoked[0].key_type
    else:
        md.state, md.state_descr = MdState.COMPLETE, "certificates are valid"
    in_renew = md.renew_at is not None and now >= md.renew_at
    in_warn = md.warn_at is not None and now >= md.warn_at
    until = md.valid_until
    left = human_delta((until - now).total_seconds()) if until else ""
    md.renew = bool(renewal.order_pending or in_renew or missing or uncovered or not has_set)
    if expired:
        md.health = Health.EXPIRED
        md.health_descr = "certificate(%s) expired %s" % (expired[0].key_type, left)
    elif problem:
        md.health, md.health_descr = Health.ERROR, problem
    elif renewal.errors:
        md.health = Health.ERROR
        what = renewal.last_error.message if renewal.last_error else "unknown error"
        times = "time" if renewal.errors == 1 else "times"
        md.health_descr = "renewal failed %d %s: %s" % (renewal.errors, times, what)
    elif revoked:
        md.health = Health.ERROR
        md.health_descr = "certificate(%s) is revoked (OCSP)" % revoked[0].key_type
    elif staple_lost:
        md.health = Health.ERROR
        md.health_descr = "OCSP response of %s expired: nothing to staple" % staple_lost[0].key_type
    elif not has_set:
        md.health = Health.INCOMPLETE
        md.health_descr = "no certificate yet" + ("; order in progress" if renewal.order_pending else "")
    elif in_warn:
        md.health = Health.EXPIRING
        md.health_descr = "expires %s (inside the warn window %s)" % (left, md.warn_window)
    elif md.renew:
        md.health = Health.RENEWING
        if missing or uncovered:
            md.health_descr = md.state_descr + "; renewal due"
        elif renewal.order_pending:
            md.health_descr = "order in progress"
        else:
            md.health_descr = "renew window %s reached; expires %s" % (md.renew_window, left)
    else:
        md.health = Health.OK
        md.health_descr = "valid, expires %s" % left


def _read(store: StoreReader, name: str) -> tuple[CertSet | None, JobState, list[str]]:
    """The domain's set and job, and what did not read (each named with its file)."""
    problems = []
    try:
        cert_set = store.active_set(name)
    except StoreError as exc:
        cert_set = None
        problems.append("%s: the active set cannot be used; renew it (mdfleet renew --force %s)" % (exc, name))
    damage = store.damage(name, cert_set) if cert_set else None
    if damage:
        problems.append("%s; the next run orders a new set (a shared domain waits for its issuer)" % damage)
    try:
        job = store.read_job(name)
    except StoreError as exc:
        job = JobState(name)
        problems.append("%s (derived state: the next run sets it aside)" % exc)
    return cert_set, job, problems


def managed_view(store: StoreReader, name: str, now: datetime.datetime, stapling: bool) -> MdView:
    cert_set, job, problems = _read(store, name)
    cfg = job.config or ConfigSnapshot()
    md = MdView(name=name)
    md.domains = list(cfg.names) or (list(cert_set.names) if cert_set else [])
    md.key_types = list(cfg.key_types) or (list(cert_set.key_types) if cert_set else [])
    md.ca_urls = list(cfg.cas)
    md.ca_url = cert_set.ca_url if cert_set else None
    if not md.ca_urls and md.ca_url:
        md.ca_urls = [md.ca_url]
    md.challenge, md.contacts, md.profile, md.ari = cfg.challenge, list(cfg.contact), cfg.profile, cfg.ari
    renew, warn = Window.parse(cfg.renew_window), Window.parse(cfg.warn_window)
    md.renew_window, md.warn_window = renew.text, warn.text
    base = store.active_dir(name)
    if cert_set is not None:
        for kt in cert_set.key_types:
            md.certs.append(_cert_view(store, name, base, kt, cert_set.certs[kt], renew, warn, now, stapling))
        # the plan's rule (due.due_times): ARI's time, never after the warn window opens
        imported = cfg.fleet is not None and not cfg.fleet.issued_here
        due = due_times(cert_set, renew, warn, job.ari if cfg.ari and not imported else None)
        md.renew_at, md.warn_at = due.renew_at, due.warn_at
        if any(c.staple is not None and c.staple.renew_required for c in md.certs):
            md.renew_at = now
    md.renewal = _renewal_view(job, store.order_in_progress(name))
    retrying = md.renewal.errors and md.renewal.next_retry
    md.renewal.next_run = md.renewal.next_retry if retrying else md.renew_at
    md.fleet = _fleet_view(cfg, cert_set)
    if md.imported:
        md.renewal.next_run = None  # this host never renews it: its issuer does
    _judge(md, cert_set is not None, now, "; ".join(problems) or None)
    if md.imported:
        _judge_member(md)
    return md


def _fleet_view(cfg: ConfigSnapshot, cert_set: CertSet | None) -> FleetView | None:
    imported = cert_set.imported if cert_set else None
    source = imported.source if imported else None
    issuer = cfg.fleet.issuer if cfg.fleet else source
    if not issuer:
        return None
    issued_here = cfg.fleet.issued_here if cfg.fleet else source is None
    return FleetView(issuer, issued_here, list(cfg.fleet.members) if cfg.fleet else [], source,
                     imported.at if imported else None)


def _judge_member(md: MdView) -> None:
    """An imported domain waits for its issuer: say so where the generic text speaks of renewing."""
    issuer = md.fleet.issuer if md.fleet else "?"
    if md.health == Health.INCOMPLETE:
        md.health_descr = "no certificate yet: waiting for the set from its issuer %s" % issuer
    elif md.health == Health.RENEWING:
        md.health_descr = "%s; waiting for a newer set from its issuer %s (distribution is late)" % (
            md.health_descr.replace("; renewal due", ""), issuer)


__all__ = ["managed_view", "LOG_SHOWN"]
