"""ACME Renewal Information (RFC 9773): ask the CA when to renew, remember its answer.

The CA's suggested window is polled no more often than its Retry-After allows (persisted in the
job), a renewal time is picked uniformly inside the window once and kept while the window stays
the same, and failures never block renewal by the configured window. Best effort by design: a
CA without ARI, or an ARI outage, falls back to the renew window.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from . import horizon
from .clock import Clock, Deadline, to_iso
from .config import CaConfig, MdConfig
from .errors import MdError
from .state.certset import CertSet
from .state.job import AriState, JobState
from .store import Store

FIRST_CHECK = datetime.timedelta(hours=1)
RECHECK_DEFAULT = datetime.timedelta(hours=6)  # when the CA sends no Retry-After
RECHECK_UNSUPPORTED = datetime.timedelta(days=7)  # a CA without renewalInfo may add it later
RECHECK_AFTER_ERROR = datetime.timedelta(hours=1)
RECHECK_MIN = datetime.timedelta(minutes=1)
RECHECK_MAX = datetime.timedelta(days=1)


def _ca_for(cfg: MdConfig, ca_url: str | None) -> CaConfig | None:
    return next((ca for ca in cfg.cas if ca.url == ca_url), None)


def _pick(start: datetime.datetime, end: datetime.datetime, rng: random.Random) -> datetime.datetime:
    span = max(0.0, (end - start).total_seconds())
    return start + datetime.timedelta(seconds=rng.uniform(0, span))


def _next_check(state: AriState | None, cert_id: str, not_before: datetime.datetime) -> datetime.datetime:
    """When a certificate's renewalInfo is asked next. One we know nothing about (e.g. activated
    by crash recovery) is first asked about an hour after issuance: a fresh one is never due."""
    at = state.next_check if state is not None and state.cert_id == cert_id and state.next_check else \
        not_before + FIRST_CHECK
    horizon.note(at)  # asked then (quiet.py)
    return at


def ari_due(cfg: MdConfig, current: CertSet, job: JobState, now: datetime.datetime) -> bool:
    """Whether refresh_ari() would ask the CA about any certificate of ``current`` now."""
    if _ca_for(cfg, current.ca_url) is None:
        return False
    return any(facts.ari_cert_id and _next_check(job.ari.get(kt), facts.ari_cert_id, facts.not_before) <= now
               for kt, facts in current.certs.items())


def refresh_ari(store: Store, cfg: MdConfig, clock: Clock, transport_factory: Callable, *,
                rng: random.Random | None = None, timeout: float = 30.0, current: CertSet | None = None,
                job: JobState | None = None) -> list[str]:
    """Poll renewalInfo for the active certificates whose next check is due; returns log lines.
    ``current`` and ``job``: the active set and the job as the caller just read them (``job``
    is updated in place and saved when an answer changed it)."""
    current = current or store.active_set(cfg.name)
    if not current:
        return []
    ca = _ca_for(cfg, current.ca_url)
    job = job or store.load_job(cfg.name)
    now = clock.now()
    notes: list[str] = []
    changed = False
    for kt, facts in current.certs.items():
        cert_id = facts.ari_cert_id
        if not cert_id or ca is None:
            continue
        if _next_check(job.ari.get(kt), cert_id, facts.not_before) > now:
            continue
        state = job.ari.get(kt) or AriState(cert_id)
        if state.cert_id != cert_id:
            state = AriState(cert_id)
        state = _poll(transport_factory(ca, cfg, clock), state, now, clock, rng or random.Random(), timeout)
        job.ari[kt] = state
        changed = True
        if state.last_error:
            notes.append("ARI for %s: %s" % (kt, state.last_error))
        elif state.supported:
            notes.append("ARI for %s suggests %s .. %s, renewal picked at %s%s" % (
                kt, to_iso(state.window_start), to_iso(state.window_end), to_iso(state.chosen),
                (" (%s)" % state.explanation_url) if state.explanation_url else ""))
    if changed:
        for line in notes:
            job.add_log(now, "ari", line)
        store.save_job(job)
    return notes


def _poll(transport, state: AriState, now: datetime.datetime, clock: Clock, rng: random.Random,
          timeout: float) -> AriState:
    from .acme.transport import parse_retry_after

    deadline = Deadline(clock, timeout)
    try:
        base = transport.directory(deadline).get("renewalInfo")
        if not base:
            state.supported, state.next_check = False, now + RECHECK_UNSUPPORTED
            return state
        resp = transport.get("%s/%s" % (base.rstrip("/"), state.cert_id), deadline)
        if resp.status != 200:
            raise MdError("renewalInfo answered HTTP %d" % resp.status)
        window = resp.json()["suggestedWindow"]
        start, end = from_iso_any(window["start"]), from_iso_any(window["end"])
    except (MdError, ValueError, KeyError, TypeError, AttributeError) as exc:  # whatever the CA sent
        state.last_error = "renewalInfo not usable: %s" % exc
        state.next_check = now + RECHECK_AFTER_ERROR
        return state
    retry = parse_retry_after(resp.headers.get("Retry-After"), clock)
    wait = datetime.timedelta(seconds=retry) if retry is not None else RECHECK_DEFAULT
    wait = min(max(wait, RECHECK_MIN), RECHECK_MAX)
    if (start, end) != (state.window_start, state.window_end) or not state.chosen:
        state.chosen = _pick(start, end, rng)  # a new window: pick again, else keep the pick
    state.supported, state.last_error = True, None
    state.window_start, state.window_end = start, end
    explanation = resp.json().get("explanationURL")
    state.explanation_url = explanation if isinstance(explanation, str) else None
    state.next_check = now + wait
    return state


def from_iso_any(text: str) -> datetime.datetime:
    """RFC 3339 times as CAs send them (fractions, offsets)."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).replace(microsecond=0)
