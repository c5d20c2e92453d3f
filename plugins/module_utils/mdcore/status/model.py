"""The md-status model: what each managed domain (and each monitored certificate file) looks like
right now, built from the store alone.

Sources, all written atomically by others: domains/<md>/set.json (certificate facts: no
certificate is parsed for managed domains), jobs/<md>.json (renewal job and config snapshot),
staging/<md>/order.json (an order in progress), ocsp/staples.json (staple metadata, read once
through mdcore.ocsp), events/<md>.json (message command bookkeeping). Reading needs no lock.
Nothing secret is read into the model: no keys, no account or EAB data, no staple bodies.
"""

from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass, field

from .. import VERSION
from ..ari import ari_renew_at
from ..clock import Clock
from ..errors import OcspError
from ..fsutil import read_bytes, read_json
from ..ocsp.config import OTHERS_DIR, StapleTarget
from ..ocsp.persist import paths_for, state_of, stored_entries
from ..ocsp.state import OcspStatus, StapleState
from ..store import (
    CERT_FILE,
    CHAIN_FILE,
    FULLCHAIN_FILE,
    KEY_FILE,
    SET_FILE,
    Store,
    check_md_name,
)
from ..window import Window
from .timefmt import human_delta, parse_iso

DEFAULT_RENEW_WINDOW = "33%"
DEFAULT_WARN_WINDOW = "10%"
LOG_SHOWN = 10


class MdState:
    """mod_md's md-status 'state' values (md_state_t), with their text."""

    UNKNOWN = 0
    INCOMPLETE = 1
    COMPLETE = 2
    EXPIRED = 3
    ERROR = 4
    MISSING_INFORMATION = 5

    TEXT = {UNKNOWN: "unknown", INCOMPLETE: "incomplete", COMPLETE: "complete", EXPIRED: "expired",
            ERROR: "error", MISSING_INFORMATION: "missing information"}


class Health:
    """What a person needs to know at a glance, most urgent first (sort order of every view)."""

    EXPIRED = "expired"  # a certificate has expired
    ERROR = "error"  # renewal failing, certificate revoked, staple lost, unreadable file
    INCOMPLETE = "incomplete"  # no certificate yet
    EXPIRING = "expiring"  # inside the warn window
    RENEWING = "renewing"  # inside the renew window, order in progress, or config changed
    OK = "ok"

    ORDER = (EXPIRED, ERROR, INCOMPLETE, EXPIRING, RENEWING, OK)

    @classmethod
    def rank(cls, health: str) -> int:
        return cls.ORDER.index(health) if health in cls.ORDER else 0


class StapleHealth:
    """The stapling table's colour for one certificate."""

    OK = "ok"  # good response, fresh
    NONE = "none"  # nothing to staple: no responder (normal) or stapling not done yet
    WARNING = "warning"  # failing to refresh, but still serving a valid response
    ERROR = "error"  # revoked, or the stored response expired (an outage outlasted it)


@dataclass
class CertFiles:
    cert: str
    chain: str | None = None
    fullchain: str | None = None
    key: str | None = None  # the path only: key material is never read


@dataclass
class StapleView:
    """A certificate's stapling, from the OCSP engineer's persisted StapleState."""

    status: str  # an OcspStatus value; 'expired' when the stored response passed its nextUpdate
    responder: str | None = None
    this_update: datetime.datetime | None = None
    next_update: datetime.datetime | None = None
    refresh_at: datetime.datetime | None = None
    fetched_at: datetime.datetime | None = None
    last_success: datetime.datetime | None = None  # a definitive (good/revoked) answer accepted
    last_attempt: datetime.datetime | None = None
    errors: int = 0
    last_error: str | None = None
    last_error_at: datetime.datetime | None = None
    next_retry: datetime.datetime | None = None
    revocation_time: datetime.datetime | None = None
    revocation_reason: str | None = None
    renew_required: bool = False
    new_key_required: bool = False

    @property
    def health(self) -> str:
        if self.status in (OcspStatus.REVOKED, OcspStatus.EXPIRED):
            return StapleHealth.ERROR
        if self.errors or self.status == OcspStatus.UNKNOWN:
            return StapleHealth.WARNING
        if self.status == OcspStatus.GOOD:
            return StapleHealth.OK
        return StapleHealth.NONE


@dataclass
class CertView:
    key_type: str
    serial: str | None = None  # hex, as mod_md
    sha256_fingerprint: str | None = None
    issuer: str | None = None  # '/CN=...' as mod_md's issuer-name
    subject: str | None = None  # RFC 4514
    names: list[str] = field(default_factory=list)
    not_before: datetime.datetime | None = None
    not_after: datetime.datetime | None = None
    ocsp_url: str | None = None
    ari_cert_id: str | None = None
    files: CertFiles | None = None
    renew_at: datetime.datetime | None = None
    warn_at: datetime.datetime | None = None
    staple: StapleView | None = None
    error: str | None = None  # a monitored file that cannot be read


@dataclass
class RenewalError:
    message: str
    problem_type: str | None = None  # the CA's RFC 7807 problem type
    detail: str | None = None


@dataclass
class LogEntry:
    when: datetime.datetime | None
    kind: str
    detail: str


@dataclass
class RenewalView:
    last_run: datetime.datetime | None = None
    last_success: datetime.datetime | None = None
    errors: int = 0
    next_retry: datetime.datetime | None = None
    next_run: datetime.datetime | None = None
    last_error: RenewalError | None = None
    order_pending: bool = False  # an order is in progress (resumed by the next run)
    log: list[LogEntry] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return not self.order_pending


@dataclass
class NotifyFailure:
    event: str
    at: datetime.datetime
    error: str
    timed_out: bool = False


@dataclass
class NotifyView:
    failures: int = 0  # failed runs of the message command in a row
    last_failure: NotifyFailure | None = None
    postponed: NotifyFailure | None = None  # the latest 'renewing' veto
    pending: list[str] = field(default_factory=list)  # events retried until delivered
    last_sent: dict[str, datetime.datetime] = field(default_factory=dict)  # event -> last success


@dataclass
class FleetView:
    """A shared domain (mdcore.fleet): who orders it, who serves it, where this host's set came from."""

    issuer: str
    issued_here: bool
    members: list[str] = field(default_factory=list)
    imported_from: str | None = None  # the host whose set is active here (None: ordered here)
    imported_at: datetime.datetime | None = None


@dataclass
class MdView:
    name: str
    domains: list[str] = field(default_factory=list)
    static: bool = False  # a certificate file that is only monitored (and maybe stapled)
    state: int = MdState.UNKNOWN
    state_descr: str = ""
    health: str = Health.OK
    health_descr: str = ""
    key_types: list[str] = field(default_factory=list)
    ca_urls: list[str] = field(default_factory=list)
    ca_url: str | None = None  # the CA of the active set
    challenge: str | None = None
    contacts: list[str] = field(default_factory=list)
    profile: str | None = None
    ari: bool = True  # ACME Renewal Information used (mod_md's ari-renewals)
    renew_window: str = DEFAULT_RENEW_WINDOW
    warn_window: str = DEFAULT_WARN_WINDOW
    certs: list[CertView] = field(default_factory=list)
    renew_at: datetime.datetime | None = None
    warn_at: datetime.datetime | None = None
    renew: bool = False  # mod_md's 'renew': a renewal is due or under way
    renewal: RenewalView | None = None
    notify: NotifyView | None = None
    fleet: FleetView | None = None  # shared domains only

    @property
    def imported(self) -> bool:
        """Ordered by another host of the fleet: this host only imports its sets."""
        return self.fleet is not None and not self.fleet.issued_here

    @property
    def valid_from(self) -> datetime.datetime | None:
        values = [c.not_before for c in self.certs if c.not_before is not None]
        return max(values) if values else None

    @property
    def valid_until(self) -> datetime.datetime | None:
        values = [c.not_after for c in self.certs if c.not_after is not None]
        return min(values) if values else None

    @property
    def stapling(self) -> bool:
        return any(c.staple is not None for c in self.certs)

    def sort_key(self) -> tuple:
        until = self.valid_until
        return (Health.rank(self.health), until.timestamp() if until else 0.0, self.name)


@dataclass
class StatusReport:
    generated: datetime.datetime
    store: str
    host: str
    version: str = VERSION
    domains: list[MdView] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {h: 0 for h in Health.ORDER}
        for md in self.domains:
            counts[md.health] = counts.get(md.health, 0) + 1
        return counts

    def by_urgency(self) -> list[MdView]:
        return sorted(self.domains, key=MdView.sort_key)

    def get(self, name: str) -> MdView | None:
        for md in self.domains:
            if md.name == name:
                return md
        return None


# -- reading the store ------------------------------------------------------------------------
def _str_list(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _window(text: object, default: str) -> Window:
    try:
        return Window.parse(text if isinstance(text, (str, int, float)) and str(text) else default)
    except Exception:  # a snapshot from an older engine: fall back to mod_md's default
        return Window.parse(default)


def _doc(path: str) -> dict:
    try:
        doc = read_json(path)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _list_jobs(store: Store) -> list[str]:
    try:
        entries = os.listdir(store.path("jobs"))
    except OSError:
        return []
    names = []
    for entry in entries:
        if entry.endswith(".json") and not entry.startswith("."):
            try:
                names.append(check_md_name(entry[:-5]))
            except Exception:  # a stray file is not a managed domain
                continue
    return names


def managed_domain_names(store: Store) -> list[str]:
    """Every managed domain the store knows: active sets and renewal jobs (first order pending)."""
    return sorted(set(store.managed_names()) | set(_list_jobs(store)))


def _staple_entries(store: Store) -> dict:
    try:
        return stored_entries(store)
    except OcspError:
        return {}  # a broken staple book: no staple facts (the stapling run reports the error)


def load_staple(store: Store, md: str | None = None, key_type: str | None = None,
                cert_path: str = "") -> StapleState | None:
    """mdcore.ocsp's persisted StapleState of a managed certificate (md, key_type) or of another
    certificate file (cert_path); None when there is none or it cannot be read. Unlike
    ocsp.persist.staple_state(), a broken staple book reads as empty instead of raising."""
    try:
        key = paths_for(store, StapleTarget(cert_path=cert_path, md=md, key_type=key_type)).key
    except Exception:  # an odd key type: nothing stored for it
        return None
    return state_of(_staple_entries(store).get(key))


def _staple_view(state: StapleState | None, cert_sha256: str | None,
                 now: datetime.datetime) -> StapleView | None:
    if state is None:
        return None
    same = bool(cert_sha256) and state.cert_sha256 == cert_sha256
    if not same:
        return StapleView(OcspStatus.NONE)  # metadata of an older certificate: a new response is due
    if state.status == OcspStatus.NO_RESPONDER:
        return StapleView(OcspStatus.NO_RESPONDER)
    status = state.status
    if state.next_update is not None and state.status in OcspStatus.CERT_STATUSES and not state.valid_at(now):
        status = OcspStatus.EXPIRED
    elif not state.has_response():
        status = OcspStatus.NONE
    return StapleView(status, responder=state.responder, this_update=state.this_update,
                      next_update=state.next_update, refresh_at=state.refresh_at, fetched_at=state.fetched_at,
                      last_success=state.succeeded_at, last_attempt=state.last_attempt, errors=state.errors,
                      last_error=state.last_error, last_error_at=state.last_error_at, next_retry=state.next_retry,
                      revocation_time=state.revocation_time, revocation_reason=state.revocation_reason,
                      renew_required=state.renew_required, new_key_required=state.new_key_required)


def _cert_view(store: Store, md: str, base: str, key_type: str, facts: dict, renew: Window, warn: Window,
               now: datetime.datetime, stapling: bool) -> CertView:
    folder = os.path.join(base, key_type)
    view = CertView(
        key_type=key_type, serial=facts.get("serial"), sha256_fingerprint=facts.get("sha256_fingerprint"),
        issuer=facts.get("issuer"), subject=facts.get("subject"), names=_str_list(facts.get("names")),
        not_before=parse_iso(facts.get("not_before")), not_after=parse_iso(facts.get("not_after")),
        ocsp_url=facts.get("ocsp_url"), ari_cert_id=facts.get("ari_cert_id"),
        files=CertFiles(os.path.join(folder, CERT_FILE), os.path.join(folder, CHAIN_FILE),
                        os.path.join(folder, FULLCHAIN_FILE), os.path.join(folder, KEY_FILE)))
    if view.not_before is not None and view.not_after is not None:
        view.renew_at = renew.start(view.not_before, view.not_after)
        view.warn_at = warn.start(view.not_before, view.not_after)
    if stapling:
        view.staple = _staple_view(load_staple(store, md, key_type), view.sha256_fingerprint, now)
        if view.staple is None and not view.ocsp_url:
            view.staple = StapleView(OcspStatus.NO_RESPONDER)
        elif view.staple is None:
            view.staple = StapleView(OcspStatus.NONE)
        if view.staple.renew_required:
            view.renew_at = now  # revoked: the manager's plan renews at its next run (Reason.REVOKED)
    return view


def _renewal_view(job: dict, order_pending: bool) -> RenewalView:
    err = job.get("last_error")
    last_error = None
    if isinstance(err, dict) and err.get("message"):
        last_error = RenewalError(str(err["message"]), err.get("problem_type"), err.get("detail"))
    log = []
    for entry in (job.get("log") or [])[-LOG_SHOWN:]:
        if isinstance(entry, dict):
            log.append(LogEntry(parse_iso(entry.get("when")), str(entry.get("type") or ""),
                                str(entry.get("detail") or "")))
    try:
        errors = int(job.get("errors") or 0)
    except (TypeError, ValueError):
        errors = 0
    return RenewalView(last_run=parse_iso(job.get("last_run")),
                       last_success=parse_iso(job.get("last_success")), errors=errors,
                       next_retry=parse_iso(job.get("next_retry")), last_error=last_error,
                       order_pending=order_pending, log=log)


def _judge(md: MdView, set_doc: dict, now: datetime.datetime) -> None:
    """state (mod_md's int + text) and health (colour, urgency) of a managed domain."""
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
    if not set_doc:
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
    md.renew = bool(renewal.order_pending or in_renew or missing or uncovered or not set_doc)
    if expired:
        md.health = Health.EXPIRED
        md.health_descr = "certificate(%s) expired %s" % (expired[0].key_type, left)
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
    elif not set_doc:
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


def _managed(store: Store, name: str, now: datetime.datetime, stapling: bool) -> MdView:
    base = store.active_dir(name)
    set_doc = _doc(os.path.join(base, SET_FILE))
    job = _doc(store.job_path(name))
    cfg = job.get("config") if isinstance(job.get("config"), dict) else {}
    md = MdView(name=name)
    md.domains = _str_list(cfg.get("names")) or _str_list(set_doc.get("names"))
    md.key_types = _str_list(cfg.get("key_types")) or _str_list(set_doc.get("key_types"))
    md.ca_urls = _str_list(cfg.get("cas"))
    md.ca_url = set_doc.get("ca_url") if isinstance(set_doc.get("ca_url"), str) else None
    if not md.ca_urls and md.ca_url:
        md.ca_urls = [md.ca_url]
    md.challenge = cfg.get("challenge") if isinstance(cfg.get("challenge"), str) else None
    md.contacts = _str_list(cfg.get("contact"))
    md.profile = cfg.get("profile") if isinstance(cfg.get("profile"), str) else None
    md.ari = cfg.get("ari") is not False
    renew = _window(cfg.get("renew_window"), DEFAULT_RENEW_WINDOW)
    warn = _window(cfg.get("warn_window"), DEFAULT_WARN_WINDOW)
    md.renew_window, md.warn_window = renew.text, warn.text
    certs = set_doc.get("certs") if isinstance(set_doc.get("certs"), dict) else {}
    for kt in _str_list(set_doc.get("key_types")) or sorted(certs):
        facts = certs.get(kt)
        if isinstance(facts, dict):
            md.certs.append(_cert_view(store, name, base, kt, facts, renew, warn, now, stapling))
    starts = [c.renew_at for c in md.certs if c.renew_at is not None]
    warns = [c.warn_at for c in md.certs if c.warn_at is not None]
    md.renew_at = min(starts) if starts else None
    md.warn_at = min(warns) if warns else None
    ari_at = ari_renew_at(job.get("ari") or {}, md.key_types) if cfg.get("ari", True) else None
    if ari_at is not None and md.renew_at is not None:
        # the same rule as the manager's plan: the CA's ARI time, but never after the warn window opens
        md.renew_at = min(ari_at, md.warn_at) if md.warn_at else ari_at
    md.renewal = _renewal_view(job, store.order_in_progress(name))
    retrying = md.renewal.errors and md.renewal.next_retry
    md.renewal.next_run = md.renewal.next_retry if retrying else md.renew_at
    md.fleet = _fleet_view(cfg, set_doc)
    if md.imported:
        md.renewal.next_run = None  # this host never renews it: its issuer does
    _judge(md, set_doc, now)
    if md.imported:
        _judge_member(md)
    return md


def _fleet_view(cfg: dict, set_doc: dict) -> FleetView | None:
    fleet = cfg.get("fleet") if isinstance(cfg.get("fleet"), dict) else {}
    imported = set_doc.get("imported") if isinstance(set_doc.get("imported"), dict) else {}
    source = imported.get("from") if isinstance(imported.get("from"), str) else None
    issuer = fleet.get("issuer") if isinstance(fleet.get("issuer"), str) else source
    if not issuer:
        return None
    issued_here = fleet.get("issued_here") if isinstance(fleet.get("issued_here"), bool) else source is None
    return FleetView(issuer, issued_here, _str_list(fleet.get("members")), source, parse_iso(imported.get("at")))


def _judge_member(md: MdView) -> None:
    """An imported domain waits for its issuer: say so where the generic text speaks of renewing."""
    issuer = md.fleet.issuer if md.fleet else "?"
    if md.health == Health.INCOMPLETE:
        md.health_descr = "no certificate yet: waiting for the set from its issuer %s" % issuer
    elif md.health == Health.RENEWING:
        md.health_descr = "%s; waiting for a newer set from its issuer %s (distribution is late)" % (
            md.health_descr.replace("; renewal due", ""), issuer)


# -- certificate files that are only monitored ------------------------------------------------
def _discovered_others(store: Store) -> list[str]:
    """Certificate files stapled by mdcore.ocsp (MDStapleOthers): they are monitored too."""
    out = []
    entries = _staple_entries(store)
    for key in sorted(entries):
        doc = entries[key]
        if key.startswith(OTHERS_DIR + "/") and isinstance(doc, dict) and isinstance(doc.get("cert_path"), str) \
                and doc["cert_path"]:
            out.append(doc["cert_path"])
    return out


def _static(store: Store, path: str, now: datetime.datetime, warn: Window, renew: Window,
            stapling: bool) -> MdView:
    from ..certs import CertFacts, split_pem_chain  # cryptography: only for these few files

    md = MdView(name=path, static=True, renew_window=renew.text, warn_window=warn.text)
    cert = CertView(key_type="file", files=CertFiles(path))
    md.certs.append(cert)
    try:
        data = read_bytes(path)
        if data is None:
            raise OSError("file not found")
        facts = CertFacts.of(split_pem_chain(data)[0])
    except Exception as exc:  # unreadable or not a certificate: shown, never fatal
        cert.error = "cannot read certificate %s: %s" % (path, getattr(exc, "strerror", None) or exc)
        md.state, md.state_descr = MdState.ERROR, cert.error
        md.health, md.health_descr = Health.ERROR, cert.error
        return md
    cert.serial, cert.sha256_fingerprint, cert.issuer = facts.serial, facts.sha256_fingerprint, facts.issuer
    cert.subject, cert.names = facts.subject, facts.names
    cert.not_before, cert.not_after = facts.not_before, facts.not_after
    cert.ocsp_url, cert.ari_cert_id = facts.ocsp_url, facts.ari_cert_id
    cert.renew_at = renew.start(facts.not_before, facts.not_after)
    cert.warn_at = warn.start(facts.not_before, facts.not_after)
    if stapling:
        cert.staple = _staple_view(load_staple(store, cert_path=path), facts.sha256_fingerprint, now)
        if cert.staple is None:
            cert.staple = StapleView(OcspStatus.NO_RESPONDER if not facts.ocsp_url else OcspStatus.NONE)
    md.domains = list(facts.names)
    md.key_types = ["file"]
    md.warn_at, md.renew_at = cert.warn_at, None  # nobody renews a static file
    md.renewal = None
    left = human_delta((facts.not_after - now).total_seconds())
    revoked = cert.staple is not None and cert.staple.status == OcspStatus.REVOKED
    if facts.not_after <= now:
        md.state, md.state_descr = MdState.EXPIRED, "certificate file has expired"
        md.health, md.health_descr = Health.EXPIRED, "expired %s; renew it by hand" % left
    elif revoked:
        md.state, md.state_descr = MdState.ERROR, "certificate file is revoked"
        md.health, md.health_descr = Health.ERROR, "revoked (OCSP)"
    else:
        md.state, md.state_descr = MdState.COMPLETE, "certificate file is valid"
        if now >= cert.warn_at:
            md.health, md.health_descr = Health.EXPIRING, "expires %s; renew it by hand" % left
        elif cert.staple is not None and cert.staple.status == OcspStatus.EXPIRED:
            md.health, md.health_descr = Health.ERROR, "OCSP response expired: nothing to staple"
        else:
            md.health, md.health_descr = Health.OK, "valid, expires %s (static file)" % left
    return md


# -- events bookkeeping -----------------------------------------------------------------------
def notify_view(store: Store, name: str) -> NotifyView | None:
    # Imported here: mdcore.notify imports this package's timefmt (no import cycle at load time).
    from ..notify.state import NotifyState, state_path

    if not os.path.exists(state_path(store, name)):
        return None
    state = NotifyState.load(store, name)
    view = NotifyView(failures=state.failures, pending=[p.event for p in state.pending],
                      last_sent=dict(state.last_success))
    if state.last_failure is not None:
        f = state.last_failure
        view.last_failure = NotifyFailure(f.event, f.at, f.error or "failed", f.timed_out)
    if state.last_postponed is not None:
        p = state.last_postponed
        view.postponed = NotifyFailure(p.event, p.at, p.error or "postponed", p.timed_out)
    return view


def build_status(store: Store, clock: Clock, names: list[str] | None = None, others: list[str] | None = None,
                 stapling: bool = True, warn_window: str = DEFAULT_WARN_WINDOW) -> StatusReport:
    """The status of every managed domain of ``store`` (or only ``names``), plus the certificate
    files in ``others`` and those stapled as others; ``warn_window`` applies to those files."""
    now = clock.now()
    report = StatusReport(generated=now, store=store.root, host=socket.gethostname())
    wanted = set(names) if names is not None else None
    for name in managed_domain_names(store):
        if wanted is not None and name not in wanted:
            continue
        md = _managed(store, name, now, stapling)
        md.notify = notify_view(store, name)
        report.domains.append(md)
    seen = {md.name for md in report.domains}
    warn = _window(warn_window, DEFAULT_WARN_WINDOW)
    for path in list(others or []) + _discovered_others(store):
        path = os.path.abspath(path)
        if path in seen or (wanted is not None and path not in wanted):
            continue
        seen.add(path)
        md = _static(store, path, now, warn, Window.parse(DEFAULT_RENEW_WINDOW), stapling)
        md.notify = notify_view(store, path)
        report.domains.append(md)
    report.domains.sort(key=MdView.sort_key)
    return report


__all__ = ["MdState", "Health", "StapleHealth", "FleetView", "CertFiles", "StapleView", "CertView", "RenewalError",
           "LogEntry", "RenewalView", "NotifyFailure", "NotifyView", "MdView", "StatusReport",
           "build_status", "managed_domain_names", "notify_view", "load_staple"]
