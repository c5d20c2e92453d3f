"""The md-status model: what each managed domain (and each monitored certificate file) looks like
right now. Only the types live here; they are built from the store by build.py (managed domains
in managed.py, monitored files in static.py, staples in staples.py, the message command's
bookkeeping in notify_view.py) and rendered by json_view, html_view and prom_view.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .. import VERSION
from ..ocsp.state import OcspStatus
from ..options.defaults import DEFAULT_RENEW_WINDOW, DEFAULT_WARN_WINDOW


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
    fragments: object = field(default=None, repr=False, compare=False)  # rendered views (status/memo.py)

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


def _sort_key(md) -> tuple:
    return md.sort_key()  # an MdView, or a status memo's MemoView


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
        return sorted(self.domains, key=_sort_key)

    def get(self, name: str) -> MdView | None:
        for md in self.domains:
            if md.name == name:
                return md
        return None


__all__ = ["MdState", "Health", "StapleHealth", "FleetView", "CertFiles", "StapleView", "CertView", "RenewalError",
           "LogEntry", "RenewalView", "NotifyFailure", "NotifyView", "MdView", "StatusReport"]
