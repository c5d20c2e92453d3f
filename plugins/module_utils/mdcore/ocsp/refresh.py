"""The stapling facade: plan every target (cheap: read JSON, hash the certificate), ask responders
only for what is due (in parallel, each exchange under a deadline), verify, judge against what is
stored, persist, write outputs, update haproxy. Callers: the ``mdfleet staple``/``drive`` command
and the ``ocsp_staple`` module. The caller holds the store lock."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .. import horizon
from ..clock import Clock, Deadline, to_iso
from ..errors import MdError, OcspError
from ..fsutil import sync_filesystems
from ..store import Store
from . import persist
from .config import StapleTarget, StaplingConfig
from .outputs import HaproxyNoSlot, differs, haproxy_set_ocsp, write_output
from .state import OcspStatus, StapleAction, StapleResult, StapleState
from .subject import Subject, read_subject
from .timing import Decision, decide, next_retry

if TYPE_CHECKING:  # the exchange side (HTTP client, request building, verification: cryptography)
    # is imported when a staple is due: a run with nothing to fetch never loads it
    from ..net.reply import Request
    from .fetch import Transport
    from .request import CertId
    from .split import Share
    from .verify import VerifiedResponse

KEY_COMPROMISE = "keyCompromise"  # RFC 5280 reason names, as verify.py reports them
CERTIFICATE_HOLD = "certificateHold"


def managed_targets(store: Store, overrides: dict | None = None, domains: list | None = None,
                    haproxy_ocsp_files: bool = False) -> list[StapleTarget]:
    """One target per active certificate of the store (of ``domains`` only, when given).

    ``overrides`` maps a domain name to a dict with any of responder, staple_file,
    haproxy_ocsp_file, haproxy_socket; a nested dict per key type (``{"md": {"rsa2048": {...}}}``)
    overrides per certificate. ``haproxy_ocsp_files``: write ``<fullchain.pem>.ocsp`` beside each
    certificate for haproxy (unless an override names another file)."""
    targets = []
    wanted = set(domains) if domains else None
    overrides = overrides or {}
    for md in store.managed_names():
        if wanted is not None and md not in wanted:
            continue
        cert_set = store.readable_active_set(md)  # looked at once per domain, as are its certificates
        if not cert_set:
            continue
        intact = store.known_intact(md, cert_set)  # checked by this run's plan
        options = overrides.get(md) or {}
        shared = {k: v for k, v in options.items() if not isinstance(v, dict)}
        for active in store.active_certs(md, cert_set):
            extra = dict(shared)
            per_key = options.get(active.key_type)
            if isinstance(per_key, dict):
                extra.update(per_key)
            if haproxy_ocsp_files:
                extra.setdefault("haproxy_ocsp_file", active.fullchain_path + ".ocsp")
            info = cert_set.certs.get(active.key_type)
            vouched = info.sha256_fingerprint if intact and info is not None else None
            recorded = (info.sha256_fingerprint, info.ocsp_url) if info is not None else None
            extra.update(cert=active.cert_path, chain=active.chain_path)
            targets.append(StapleTarget.from_dict(extra, md=md, key_type=active.key_type, cert_sha256=vouched,
                                                  recorded=recorded))
    return targets


def unmatched_selection(store: Store, domains: list | None, overrides: dict | None) -> list[str]:
    """Warnings for names in ``domains`` and ``overrides`` (and key types in the latter) that match
    no active certificate of the store: a typo would otherwise staple nothing, silently."""
    active = {md: {c.key_type for c in store.readable_active_certs(md)} for md in store.managed_names()}
    where = "in the store %s: nothing is stapled for it" % store.root
    out = ["domains: no managed domain %r %s" % (md, where) for md in domains or [] if md not in active]
    for md, options in sorted((overrides or {}).items()):
        if md not in active:
            out.append("domain_options: no managed domain %r %s" % (md, where))
            continue
        for key, value in sorted((options or {}).items()):
            if isinstance(value, dict) and key not in active[md]:
                out.append("domain_options.%s: %s has no certificate of key type %r (it has %s)"
                           % (md, md, key, ", ".join(sorted(active[md])) or "none"))
    return out


def staple_store(store: Store, clock: Clock, *, managed: bool = True, domains: list | None = None,
                 others: list | None = None, overrides: dict | None = None, haproxy_ocsp_files: bool = False,
                 config: StaplingConfig | None = None, check_mode: bool = False, lock_wait: float = 60.0,
                 transport: Transport | None = None) -> list[StapleResult]:
    """What the ocsp_staple module (and a stand-alone ``mdfleet staple``) runs: build the targets
    (the store's certificates and/or ``others``: dicts as :meth:`StapleTarget.from_dict` reads)
    and refresh them under the store lock. Check mode neither creates the store nor locks it."""
    extra = [StapleTarget.from_dict(o) for o in (others or [])]

    def targets() -> list[StapleTarget]:
        own = managed_targets(store, overrides, domains, haproxy_ocsp_files) if managed else []
        return own + extra

    if check_mode:
        return refresh_staples(store, targets(), clock, check_mode=True, config=config)
    store.setup()
    with store.lock(lock_wait):
        return refresh_staples(store, targets(), clock, config=config, transport=transport)


@dataclass
class _Job:
    target: StapleTarget
    paths: persist.StaplePaths
    state: StapleState | None
    subject: Subject | None = None
    decision: Decision = field(default_factory=lambda: Decision(False))
    action: str = StapleAction.KEPT
    error: str | None = None
    changed_files: list = field(default_factory=list)
    output_errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    haproxy_updated: bool = False
    certid: CertId | None = None  # of the request sent
    request: Request | None = None  # what is sent to the responder
    answer: bytes | None = None  # the responder's answer, not yet verified
    failure: OcspError | None = None  # why the exchange failed
    written: list = field(default_factory=list)  # files written without fsync, flushed at the end of the run
    der: bytes | None = None  # the stored response as DER, once known (served without a base64 round trip)
    dirty: bool = False  # the state changed: put back into the book at the end of the run
    copy: bool | None = None  # whether the store's .der copy exists (None: not looked at yet)

    def has_copy(self) -> bool:
        """Whether the store's .der copy exists (looked at once per run)."""
        if self.copy is None:
            self.copy = bool(self.paths.der) and os.path.exists(self.paths.der)
        return self.copy

    def same_cert(self) -> bool:
        return self.state is not None and self.subject is not None and \
            self.state.cert_sha256 == self.subject.cert_sha256

    def stored_usable(self, now: datetime.datetime) -> bool:
        return self.same_cert() and self.state.valid_at(now)


def refresh_staples(store: Store, targets: list[StapleTarget], clock: Clock,
                    now: datetime.datetime | None = None, check_mode: bool = False,
                    config: StaplingConfig | None = None, transport: Transport | None = None,
                    rng: random.Random | None = None, prune: bool = True,
                    deadline: Deadline | None = None, processes: int | None = None) -> list[StapleResult]:
    """Refresh the staples of ``targets``; returns one :class:`StapleResult` per target, in order.
    ``deadline``: the run's; every exchange ends within it (and within ``config.timeout``).
    ``processes``: 2 lets a forked helper ask for and verify a share of the due staples (see
    ``split.shares``), 1 never forks; None (the default): 2 on a machine of several CPUs when at
    least ``split.HELPER_MIN_DUE`` are due and the run's own HTTP client is used.

    Per-certificate failures are reported in the results (``error``/``last_error``), never raised;
    MdError is raised only for problems of the whole run. ``check_mode`` reads but never writes or
    fetches: due certificates come back as ``would-fetch``."""
    config = config or StaplingConfig()
    now = now or clock.now()
    rng = rng or random.Random()
    written: list[str] = []
    book = persist.StapleBook.load(store)
    copies = persist.copy_folders(store)
    jobs = [_plan(store, book, target, now, check_mode, config, written, copies) for target in targets]
    due = [job for job in jobs if job.decision.due and job.error is None]
    if check_mode:
        for job in jobs:
            _check(job, now)
        return [_result(job, now) for job in jobs]
    own = transport is None and bool(due)
    if due:
        from . import split
        from .fetch import DefaultTransport, fetch_all  # the HTTP client: only when a responder is asked

        if own:
            transport = DefaultTransport(config.proxy, config.max_response_bytes)
    share, mine, parallel = None, due, config.workers

    def finish(job: _Job, verified: VerifiedResponse | None = None) -> None:
        _finish(job, clock, now, config, rng, verified)
        if job.dirty:  # into the book now, while other answers are on their way (save only joins)
            book.put(job.paths.key, job.state)
            job.dirty = False

    try:
        if due:
            plain = all(job.subject.responder_url.startswith("http://") for job in due)
            plan = split.shares(due, processes, own, os.cpu_count())
            if plan.queued and not plain:  # a batch with https goes through threads: no queue
                plan = split.Split(plan.mine, plan.theirs + plan.queued, [], plan.chunk)
            mine = plan.mine
            parallel, helper_parallel = split.workers(config.workers, len(plan.theirs) + len(plan.queued))
            share = split.start(plan, _prepare, transport, config, clock, deadline, now,
                                helper_parallel) if plan.theirs else None
            if plan.theirs and share is None:
                mine, parallel = due, config.workers  # no fork here: this run asks them all
        asking: list[_Job] = []

        def ask(jobs: list[_Job]) -> list[tuple[str, Request]]:
            asks = []
            for job in jobs:
                if _prepare(job, config):
                    asking.append(job)
                    asks.append((job.subject.responder_url, job.request))
                else:
                    finish(job)  # no request to send: the failure is recorded
            return asks

        def more() -> list[tuple[str, Request]]:
            while chunk := share.take():  # the next chunk of the queue, while there is one
                asks = ask(chunk)
                if asks:
                    return asks
            return []

        asks = ask(mine)
        mine_config = replace(config, workers=parallel)
        feed = more if share is not None and share.queue is not None else None
        for index, outcome in (fetch_all(transport, asks, mine_config, clock, deadline, feed)
                               if asks or feed else ()):
            job = asking[index]
            if isinstance(outcome, bytes):
                job.answer = outcome
            else:
                job.failure = outcome if isinstance(outcome, OcspError) else OcspError(str(outcome))
            finish(job)  # while the next answers arrive
            if share is not None:
                _from_helper(share, False, finish)
        while share is not None and share.pending:
            _from_helper(share, True, finish)
    finally:
        if share is not None:
            share.close()
        if own:
            transport.close()
    for job in jobs:
        if not job.decision.due and job.subject is not None and job.subject.responder_url:
            _serve_stored(job, clock, now, config)
    for job in jobs:
        if job.dirty:
            book.put(job.paths.key, job.state)
    if prune:
        persist.prune(store, book, now, config.keep_seconds)
    book.save(written)
    if written:
        try:
            sync_filesystems(written)  # one flush for the whole run instead of two fsyncs per file
        except OSError as exc:
            raise OcspError("cannot flush the staples written: %s" % (exc.strerror or exc)) from None
    return [_result(job, now) for job in jobs]


# -- planning ---------------------------------------------------------------------------------
def _plan(store: Store, book: persist.StapleBook, target: StapleTarget, now: datetime.datetime,
          check_mode: bool, config: StaplingConfig, written: list, copies: frozenset | None = None) -> _Job:
    """The job of one target. ``copies``: the folders below ocsp/ (persist.copy_folders); a
    certificate whose folder is not among them has no .der copy (no stat per certificate)."""
    try:
        paths = persist.paths_for(store, target)
    except MdError as exc:
        job = _Job(target, persist.StaplePaths("", "", ""), None, written=written)
        job.action, job.error = StapleAction.FAILED, str(exc)
        return job
    job = _Job(target, paths, book.get(paths.key), written=written)
    folder = persist.copy_folder(store, paths) if copies is not None else None
    if folder is not None and folder not in copies:
        job.copy = False
    known, known_url = _known_facts(store, job)
    try:
        if known is not None and target.cert_sha256 == known:  # the store vouches for the file: not read
            job.subject = Subject(target.cert_path, None, known, known_url, target.responder or known_url)
        else:
            job.subject = read_subject(target.cert_path, target.responder, known, known_url)
    except OcspError as exc:
        job.action, job.error = StapleAction.FAILED, str(exc)
        return job
    if not job.subject.responder_url:
        job.action = StapleAction.SKIPPED
        if not check_mode:
            _record_no_responder(job, now, config)
        return job
    _apply_window(job, config, check_mode)
    job.decision = decide(job.state, job.subject.cert_sha256, job.subject.responder_url, now)
    if job.decision.waiting:
        job.action = StapleAction.BACKOFF
    return job


def _known_facts(store: Store, job: _Job) -> tuple[str | None, str | None]:
    """The certificate's sha256 and OCSP URL as recorded (the book, else the active set.json of a
    managed certificate): read_subject then only hashes the file, and parses it when the file
    is another certificate."""
    if job.state is not None:
        return job.state.cert_sha256, job.state.cert_ocsp_url
    if job.target.recorded is not None:  # read by managed_targets in this run
        return job.target.recorded
    if job.target.managed:
        try:
            cert_set = store.active_set(job.target.md)
        except MdError:
            return None, None  # reported by the plan of the domain; here the file is parsed
        info = cert_set.certs.get(job.target.key_type) if cert_set is not None else None
        if info is not None:
            return info.sha256_fingerprint, info.ocsp_url
    return None, None


def _apply_window(job: _Job, config: StaplingConfig, check_mode: bool) -> None:
    """The refresh time follows the configured window, also for responses fetched under another
    one (as mod_md applies a changed MDStaplingRenewWindow at once); the book is updated when it
    moved, so status views show the time this run used."""
    state = job.state
    if state is None or not job.same_cert() or not state.has_response() or state.this_update is None:
        return
    refresh_at = config.window.start(state.this_update, state.next_update)
    if refresh_at != state.refresh_at:
        state.refresh_at = refresh_at
        job.dirty = not check_mode


def _record_no_responder(job: _Job, now: datetime.datetime, config: StaplingConfig) -> None:
    """Certificates without an OCSP URL are normal: no error, no retry. The state is written when
    it changes and touched now and then (half the keep time) so that pruning leaves it alone."""
    state = job.state
    touched = state.last_attempt if state is not None else None
    if touched is not None:
        horizon.note(touched + datetime.timedelta(seconds=config.keep_seconds / 2))
    if state is not None and state.cert_sha256 == job.subject.cert_sha256 and \
            state.status == OcspStatus.NO_RESPONDER and touched is not None and \
            now - touched < datetime.timedelta(seconds=config.keep_seconds / 2):
        return
    job.state = StapleState(cert_path=job.target.cert_path, cert_sha256=job.subject.cert_sha256,
                            cert_ocsp_url=job.subject.cert_ocsp_url, md=job.target.md,
                            key_type=job.target.key_type, status=OcspStatus.NO_RESPONDER, last_attempt=now)
    job.dirty = True


def _check(job: _Job, now: datetime.datetime) -> None:
    """Check mode: say what a real run would do and which files it would change."""
    if job.error or job.subject is None or not job.subject.responder_url:
        return
    if job.decision.due:
        job.action = StapleAction.WOULD_FETCH
        job.changed_files = _store_copy(job) + job.target.output_files()
    elif job.stored_usable(now) and job.state.status != OcspStatus.UNKNOWN:
        der = persist.response_der(job.state)
        job.changed_files = [p for p in _store_copy(job) + job.target.output_files() if differs(p, der)]


# -- one exchange -----------------------------------------------------------------------------
def _prepare(job: _Job, config: StaplingConfig) -> bool:
    """Find the issuer and build the request (the exchanges then run in fetch_all); False, with
    the OcspError in the job, when it cannot be asked."""
    from .fetch import request_for
    from .request import build_request, with_issuer

    if job.request is not None:  # built already (split.start builds its first before the fork)
        return True
    job.failure = None  # a failed attempt is made again (a retry after the helper is gone)
    try:
        subject = with_issuer(job.subject, job.target.issuer_path)
        request_der, job.certid = build_request(subject)
        job.request = request_for(subject.responder_url, request_der, config)
        return True
    except OcspError as exc:
        job.failure = exc
        return False


def _from_helper(share: Share, block: bool, finish: Callable) -> None:
    """Store what the helper verified (with ``block``: wait for some, or give its jobs up):
    ``finish(job, verified)``."""
    for job, verified in share.ready(block):
        finish(job, verified)


def _finish(job: _Job, clock: Clock, now: datetime.datetime, config: StaplingConfig, rng: random.Random,
            verified: VerifiedResponse | None = None) -> None:
    """Verify (unless the helper did: ``verified``) and judge the answer, persist, serve (in the
    run's thread, between two steps of the exchanges)."""
    from .verify import verify_response

    target = job.target
    if not job.same_cert():
        job.state = StapleState(cert_path=target.cert_path, cert_sha256=job.subject.cert_sha256,
                                md=target.md, key_type=target.key_type)
    state = job.state
    state.cert_path = target.cert_path
    state.cert_ocsp_url = job.subject.cert_ocsp_url
    state.responder = job.subject.responder_url
    state.last_attempt = now
    try:
        if job.failure is not None:
            raise job.failure
        if verified is None:
            verified = verify_response(job.answer, job.subject, job.certid, now, config.max_skew)
        _judge(job, verified, now)
        _store(job, verified, job.certid.to_json(), now, config, rng)
        job.action = StapleAction.FETCHED
        if verified.status == OcspStatus.UNKNOWN:
            raise OcspError("responder does not know this certificate (status 'unknown'); retrying later")
    except OcspError as exc:
        job.action, job.error = StapleAction.FAILED, str(exc)
        state.errors += 1
        state.last_error = str(exc)
        state.last_error_at = now
        state.next_retry = next_retry(now, state.errors, state, config, rng)
        job.dirty = True
    _serve_stored(job, clock, now, config)


def _judge(job: _Job, new: VerifiedResponse, now: datetime.datetime) -> None:
    """Never replace a stored, still valid response with a worse or older one."""
    state = job.state
    if not job.stored_usable(now):
        return
    if new.this_update < state.this_update:
        raise OcspError("response is older than the stored one (thisUpdate %s < %s); keeping the stored one"
                        % (to_iso(new.this_update), to_iso(state.this_update)))
    if new.status == OcspStatus.UNKNOWN and state.status != OcspStatus.UNKNOWN:
        raise OcspError("responder answered 'unknown' for this certificate; keeping the stored '%s' response"
                        % state.status)
    if state.status == OcspStatus.REVOKED and new.status == OcspStatus.GOOD and \
            state.revocation_reason != CERTIFICATE_HOLD:
        raise OcspError("responder says 'good' for a certificate it reported revoked (%s); keeping the "
                        "revoked response" % (state.revocation_reason or "no reason"))


def _store(job: _Job, new: VerifiedResponse, certid: dict, now: datetime.datetime, config: StaplingConfig,
           rng: random.Random) -> None:
    state = job.state
    if new.status == OcspStatus.UNKNOWN and job.stored_usable(now):
        return  # _judge refused that already; belt and braces
    state.certid = certid
    state.status = new.status
    state.this_update, state.next_update = new.this_update, new.next_update
    state.produced_at = new.produced_at
    state.fetched_at = now
    if new.status in (OcspStatus.GOOD, OcspStatus.REVOKED):
        state.succeeded_at = now  # 'unknown' is stored when nothing better is, but it is no success
    state.refresh_at = config.window.start(new.this_update, new.next_update)
    state.responder_id = new.responder_id
    state.response = base64.b64encode(new.der).decode()
    job.der = new.der
    state.response_sha256 = hashlib.sha256(new.der).hexdigest()
    state.revocation_time, state.revocation_reason = new.revocation_time, new.revocation_reason
    state.renew_required = new.status == OcspStatus.REVOKED
    state.new_key_required = new.status == OcspStatus.REVOKED and new.revocation_reason == KEY_COMPROMISE
    if new.status == OcspStatus.REVOKED:
        state.errors, state.next_retry = 0, None
        state.last_error = "certificate revoked at %s (reason: %s)" % (
            to_iso(new.revocation_time), new.revocation_reason or "unspecified")
        state.last_error_at = now
    elif new.status == OcspStatus.GOOD:
        state.errors, state.next_retry, state.last_error, state.last_error_at = 0, None, None, None
    job.dirty = True  # UNKNOWN: the caller counts it as a failure too


# -- serving ----------------------------------------------------------------------------------
def _store_copy(job: _Job) -> list[str]:
    """The store's .der copy, when it is kept: for certificates without a staple file of their
    own, or when one exists already (something may read it: it stays in step)."""
    if not job.paths.der:
        return []
    if not job.target.output_files() or job.has_copy():
        return [job.paths.der]
    return []


def _serve_stored(job: _Job, clock: Clock, now: datetime.datetime, config: StaplingConfig) -> None:
    """Put the stored response where the servers read it (only files that differ are written).
    Expired responses and 'unknown' ones are not served."""
    if not job.stored_usable(now) or job.state.status == OcspStatus.UNKNOWN:
        return
    der = job.der or persist.response_der(job.state)
    try:
        if _store_copy(job) and persist.sync_der(job.paths, job.state, job.written):
            job.copy = True
            job.changed_files.append(job.paths.der)
    except OcspError as exc:
        job.output_errors.append(str(exc))
    for path in job.target.output_files():
        try:
            if write_output(path, der, job.written):
                job.changed_files.append(path)
        except OcspError as exc:
            job.output_errors.append(str(exc))
    socket_path = job.target.haproxy_socket or config.haproxy_socket
    state = job.state
    if socket_path and state.pushed_sha256 != state.response_sha256:
        try:
            haproxy_set_ocsp(socket_path, der, clock, config.socket_timeout)
            job.haproxy_updated = True
            state.pushed_sha256 = state.response_sha256
            job.dirty = True
        except HaproxyNoSlot as exc:
            if not job.target.haproxy_ocsp_file:
                job.output_errors.append(str(exc))
                return
            # A certificate haproxy loaded before its first staple: the .ocsp file beside it is
            # written, and haproxy serves this very response from it after its next reload.
            job.warnings.append("%s; haproxy reads %s at its next reload" % (exc, job.target.haproxy_ocsp_file))
            state.pushed_sha256 = state.response_sha256
            job.dirty = True
        except OcspError as exc:
            job.output_errors.append(str(exc))


# -- reporting --------------------------------------------------------------------------------
def _status(job: _Job, now: datetime.datetime) -> str:
    if job.subject is not None and not job.subject.responder_url:
        return OcspStatus.NO_RESPONDER
    if job.same_cert() and job.state.has_response():
        return job.state.status if job.state.valid_at(now) else OcspStatus.EXPIRED
    return OcspStatus.NONE


def _copy_now(job: _Job) -> bool:
    """Whether the .der copy exists at the end of the run (prune may have removed one; none that
    was missing at the start and that this run did not write can have appeared)."""
    return job.copy is not False and bool(job.paths.der) and os.path.exists(job.paths.der)


def _result(job: _Job, now: datetime.datetime) -> StapleResult:
    target = job.target
    result = StapleResult(name=target.name, cert_path=target.cert_path, action=job.action,
                          status=_status(job, now), md=target.md, key_type=target.key_type,
                          error=job.error, output_errors=list(job.output_errors), warnings=list(job.warnings),
                          store_file=job.paths.der if _copy_now(job) else None,
                          files=target.output_files(),
                          changed_files=list(job.changed_files), haproxy_updated=job.haproxy_updated)
    if job.subject is not None:
        result.responder = job.subject.responder_url
    state = job.state if job.same_cert() else None
    if state is not None:
        for name in ("this_update", "next_update", "refresh_at", "fetched_at", "next_retry", "errors",
                     "last_error", "revocation_time", "revocation_reason", "renew_required",
                     "new_key_required"):
            setattr(result, name, getattr(state, name))
    elif job.error:
        result.last_error = job.error
    return result


__all__ = ["refresh_staples", "managed_targets", "staple_store", "unmatched_selection"]
