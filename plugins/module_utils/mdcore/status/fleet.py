"""The fleet report: every host x managed domain from the md_status facts Ansible collected,
most urgent first, with stapling, shared certificates (the issuer's serial, members that drift)
and a simple expiry timeline; as JSON and as one HTML page.

Input is what each host's md_status module returned (md-status.json's structure) or None for a
host that gave no status (unreachable, failed). It is data from many machines: read defensively,
every value escaped in the page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..timefmt import http_date, human_delta
from .drift import MemberState, SharedCert, fleet_of, serial_text, serials_of, shared_certs
from .html_view import badge, esc
from .model import Health
from .palette import HEALTH_COLOURS, css

UNREACHABLE = "unreachable"
DRIFT = "drift"  # a member serves another serial than its issuer (or none): urgent before its copy expires
FLEET_ORDER = (Health.EXPIRED, Health.ERROR, UNREACHABLE, DRIFT, Health.INCOMPLETE, Health.EXPIRING,
               Health.RENEWING, Health.OK)
STAPLE_ORDER = ("error", "warning", "none", "ok")
TIMELINE_WEEKS = 13
WEEK = 7 * 86400


# The colour of a member's state in the shared certificates table.
MEMBER_HEALTH = {MemberState.IN_SYNC: Health.OK, MemberState.DRIFT: DRIFT, MemberState.MISSING: DRIFT,
                 MemberState.UNREACHABLE: UNREACHABLE, MemberState.UNKNOWN: Health.INCOMPLETE}


def fleet_rank(health: str) -> int:
    return FLEET_ORDER.index(health) if health in FLEET_ORDER else 0


@dataclass
class FleetRow:
    host: str
    md: str
    health: str
    health_descr: str = ""
    domains: list[str] = field(default_factory=list)
    state: int | None = None
    state_descr: str = ""
    not_after: int | None = None  # Unix time of the earliest NotAfter
    renew_at: int | None = None
    stapling: str = "none"  # worst staple health of the domain's certificates
    ocsp_statuses: list[str] = field(default_factory=list)
    ocsp_next_update: int | None = None  # earliest nextUpdate of its stored responses
    renewal_errors: int = 0
    last_error: str | None = None
    static: bool = False
    issuer: str | None = None  # a shared domain's issuer
    imported: bool = False  # ordered by the issuer, imported on this host
    serials: dict = field(default_factory=dict)

    def sort_key(self) -> tuple:
        until = self.not_after if self.not_after is not None else 0
        return (fleet_rank(self.health), until, self.host, self.md)


@dataclass
class FleetReport:
    generated: datetime.datetime
    hosts: list[str]
    unreachable: list[str]
    rows: list[FleetRow]
    shared: list[SharedCert] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {h: 0 for h in FLEET_ORDER}
        for row in self.rows:
            counts[row.health] = counts.get(row.health, 0) + 1
        return counts


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _row(host: str, md: dict, now: int) -> FleetRow:
    health = md.get("health") if md.get("health") in FLEET_ORDER else Health.ERROR
    row = FleetRow(host=host, md=str(md.get("name") or "?"), health=health,
                   health_descr=str(md.get("health-descr") or ""), state=_int(md.get("state")),
                   state_descr=str(md.get("state-descr") or ""), static=bool(md.get("static")),
                   domains=[d for d in md.get("domains") or [] if isinstance(d, str)],
                   renew_at=_int(md.get("renew-at-unix")))
    cert = md.get("cert") if isinstance(md.get("cert"), dict) else {}
    valid = cert.get("valid") if isinstance(cert.get("valid"), dict) else {}
    row.not_after = _int(valid.get("until-unix"))
    fleet = fleet_of(md)
    if fleet is not None:
        row.issuer, row.imported = fleet["issuer"], fleet.get("issued-here") is False
        row.serials = serials_of(md)
    worst = len(STAPLE_ORDER)
    for key, one in cert.items():
        if key == "valid" or not isinstance(one, dict) or not isinstance(one.get("ocsp"), dict):
            continue
        ocsp = one["ocsp"]
        status = str(ocsp.get("status") or "none")
        row.ocsp_statuses.append("%s: %s" % (key, status))
        staple_health = ocsp.get("health") if ocsp.get("health") in STAPLE_ORDER else "none"
        worst = min(worst, STAPLE_ORDER.index(staple_health))
        valid = ocsp.get("valid") if isinstance(ocsp.get("valid"), dict) else {}
        until = _int(valid.get("until-unix"))
        if until is not None and (row.ocsp_next_update is None or until < row.ocsp_next_update):
            row.ocsp_next_update = until
    row.stapling = STAPLE_ORDER[worst] if worst < len(STAPLE_ORDER) else "none"
    renewal = md.get("renewal") if isinstance(md.get("renewal"), dict) else {}
    row.renewal_errors = _int(renewal.get("errors")) or 0
    last = renewal.get("last") if isinstance(renewal.get("last"), dict) else {}
    if last.get("status"):
        row.last_error = str(last.get("detail") or "")
    if row.not_after is not None and row.not_after <= now and row.health != Health.EXPIRED:
        row.health, row.health_descr = Health.EXPIRED, "expired %s" % human_delta(row.not_after - now)
    return row


def build_fleet_report(statuses: dict, now: datetime.datetime) -> FleetReport:
    """``statuses``: host -> md_status facts (or None when the host gave none)."""
    stamp = int(now.timestamp())
    rows: list[FleetRow] = []
    unreachable = []
    for host in sorted(statuses, key=str):
        facts = statuses[host]
        mds = facts.get("managed-domains") if isinstance(facts, dict) else None
        if not isinstance(mds, list):
            unreachable.append(str(host))
            rows.append(FleetRow(host=str(host), md="-", health=UNREACHABLE,
                                 health_descr="no md_status from this host (unreachable or failed)"))
            continue
        if not any(isinstance(md, dict) for md in mds):
            # counted in the header, so it gets a row too: a host whose store is empty or missing
            # (never deployed, or another store path) is worth a look
            store = facts.get("store") if isinstance(facts.get("store"), str) else "?"
            rows.append(FleetRow(host=str(host), md="-", health=Health.INCOMPLETE,
                                 health_descr="no managed domains in the store %s" % store))
            continue
        for md in mds:
            if isinstance(md, dict):
                rows.append(_row(str(host), md, stamp))
    shared = shared_certs(statuses)
    _mark_drift(rows, shared, statuses)
    rows.sort(key=FleetRow.sort_key)
    return FleetReport(now, sorted(str(h) for h in statuses), unreachable, rows, shared)


def _mark_drift(rows: list[FleetRow], shared: list[SharedCert], statuses: dict) -> None:
    """Members behind their issuer become drift rows (unless already more urgent); a shared
    domain whose issuer gave no status gets a row saying what members keep serving."""
    index = {(r.host, r.md): r for r in rows}
    for cert in shared:
        for member in cert.behind:
            row = index.get((member.host, cert.md))
            if row is None:  # reachable, but it does not report the domain at all
                row = FleetRow(host=member.host, md=cert.md, health=DRIFT, issuer=cert.issuer, imported=True)
                rows.append(row)
            elif fleet_rank(row.health) <= fleet_rank(DRIFT):
                continue
            row.health, row.health_descr = DRIFT, member.descr
        if not cert.issuer_reachable:
            rows.append(FleetRow(host=cert.issuer, md=cert.md, health=UNREACHABLE, health_descr=cert.note,
                                 issuer=cert.issuer))


def _timeline_buckets(report: FleetReport) -> list[dict]:
    """Expiries per week from now: 'expired', week 1..N, 'later'; each split by health."""
    now = int(report.generated.timestamp())
    buckets = [{"label": "expired", "start-unix": None, "counts": {}}]
    for week in range(TIMELINE_WEEKS):
        start = now + week * WEEK
        buckets.append({"label": "week %d" % (week + 1), "start-unix": start, "counts": {}})
    buckets.append({"label": "later", "start-unix": now + TIMELINE_WEEKS * WEEK, "counts": {}})
    for row in report.rows:
        if row.not_after is None:
            continue
        left = row.not_after - now
        index = 0 if left <= 0 else min(TIMELINE_WEEKS + 1, 1 + left // WEEK)
        counts = buckets[index]["counts"]
        counts[row.health] = counts.get(row.health, 0) + 1
    for bucket in buckets:
        bucket["total"] = sum(bucket["counts"].values())
    return buckets


def fleet_json(report: FleetReport) -> dict:
    now = int(report.generated.timestamp())
    rows = []
    for row in report.rows:
        item: dict = {"host": row.host, "md": row.md, "domains": row.domains, "health": row.health,
                      "health-descr": row.health_descr, "urgency": fleet_rank(row.health),
                      "static": row.static, "stapling": row.stapling, "ocsp": row.ocsp_statuses,
                      "renewal-errors": row.renewal_errors}
        if row.state is not None:
            item["state"], item["state-descr"] = row.state, row.state_descr
        for key, value in (("not-after", row.not_after), ("renew-at", row.renew_at),
                           ("ocsp-next-update", row.ocsp_next_update)):
            if value is not None:
                item[key] = http_date(datetime.datetime.fromtimestamp(value, datetime.timezone.utc))
                item[key + "-unix"] = value
        if row.not_after is not None:
            item["expires-in-seconds"] = row.not_after - now
        if row.last_error:
            item["last-error"] = row.last_error
        if row.issuer is not None:
            item["issuer"], item["imported"], item["serials"] = row.issuer, row.imported, dict(row.serials)
        rows.append(item)
    return {"generator": "mdfleet.md", "generated": http_date(report.generated), "generated-unix": now,
            "hosts": {"total": len(report.hosts), "unreachable": report.unreachable},
            "summary": report.summary(), "rows": rows, "shared": [_shared_json(c) for c in report.shared],
            "timeline": _timeline_buckets(report)}


def _shared_json(cert: SharedCert) -> dict:
    doc: dict = {"md": cert.md, "issuer": cert.issuer, "issuer-reachable": cert.issuer_reachable,
                 "serials": dict(cert.serials), "note": cert.note,
                 "drift": [m.host for m in cert.behind],
                 "members": [{"host": m.host, "state": m.state, "serials": dict(m.serials), "detail": m.descr}
                             for m in cert.members]}
    if cert.not_after is not None:
        doc["not-after"] = http_date(datetime.datetime.fromtimestamp(cert.not_after, datetime.timezone.utc))
        doc["not-after-unix"] = cert.not_after
    return doc


def _timeline_svg(report: FleetReport) -> str:
    buckets = _timeline_buckets(report)
    width, height, pad, top = 940, 170, 30, 14
    slot = (width - 2 * pad) / len(buckets)
    peak = max([b["total"] for b in buckets] + [1])
    scale = (height - top - 34) / peak
    parts = ['<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
             'aria-label="certificate expiries per week">' % (width, height)]
    base = height - 30
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#263238"/>' % (pad, base, width - pad, base))
    for index, bucket in enumerate(buckets):
        x = pad + index * slot + 3
        y = base
        for health in reversed(FLEET_ORDER):  # least urgent at the bottom, urgent on top
            count = bucket["counts"].get(health, 0)
            if not count:
                continue
            h = count * scale
            y -= h
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" class="t-%s">'
                         "<title>%s: %d %s</title></rect>" % (x, y, slot - 6, h, HEALTH_COLOURS[health][0],
                                                              health, esc(bucket["label"]), count, health))
        if bucket["total"]:
            parts.append('<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%d</text>'
                         % (x + (slot - 6) / 2, y - 3, bucket["total"]))
        label = bucket["label"] if index in (0, len(buckets) - 1) else "+%dw" % (index - 1)
        parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>'
                     % (x + (slot - 6) / 2, base + 14, esc(label)))
    parts.append("</svg>")
    return "".join(parts)


def _moment(value: int | None, now: int) -> str:
    if value is None:
        return "-"
    text = http_date(datetime.datetime.fromtimestamp(value, datetime.timezone.utc))
    return '%s<br><span class="small">%s</span>' % (esc(text), esc(human_delta(value - now)))


def _shared_html(report: FleetReport) -> str:
    """Shared certificates: the issuer's serial and each member's state, drift first."""
    if not report.shared:
        return ""
    rows = []
    for cert in report.shared:
        members = "<br>".join("%s %s" % (badge("health", MEMBER_HEALTH.get(m.state, Health.INCOMPLETE), m.state),
                                         esc(m.host)) for m in cert.members) or "-"
        health = DRIFT if cert.behind else (UNREACHABLE if not cert.issuer_reachable else Health.OK)
        rows.append('<tr class="health-%s" data-md="%s" data-issuer="%s" data-drift="%s">'
                    % (esc(health), esc(cert.md), esc(cert.issuer), esc(" ".join(m.host for m in cert.behind)))
                    + "<td><b>%s</b></td>" % esc(cert.md)
                    + '<td>%s<br><span class="small mono">%s</span></td>'
                    % (esc(cert.issuer), esc(serial_text(cert.serials)))
                    + "<td>%s</td>" % members
                    + '<td class="small">%s</td>' % esc(cert.note)
                    + "</tr>")
    return ('<h2>Shared certificates (issued once, imported by the members)</h2><table id="shared"><thead><tr>'
            "<th>Managed domain</th><th>Issuer (serial)</th><th>Members</th><th>Note</th></tr></thead>"
            "<tbody>%s</tbody></table>" % "\n".join(rows))


def render_fleet_html(report: FleetReport, title: str = "mdfleet fleet status") -> str:
    now = int(report.generated.timestamp())
    counts = report.summary()
    rows = []
    for row in report.rows:
        days = max(0.0, (row.not_after - now) / 86400.0) if row.not_after is not None else None
        expiry_bar = ""
        if days is not None:
            width = min(100.0, days / 0.9)  # the full cell is 90 days
            expiry_bar = '<div class="bar health-%s" style="width:%.0f%%"></div>' % (esc(row.health), width)
        stapling = badge("staple", row.stapling, row.stapling)
        if row.ocsp_statuses:
            stapling += '<br><span class="small">%s</span>' % esc(", ".join(row.ocsp_statuses))
        detail = esc(row.health_descr)
        if row.last_error and row.last_error not in row.health_descr:
            detail += '<br><span class="small">%s</span>' % esc(row.last_error)
        rows.append(
            '<tr class="health-%s" data-health="%s" data-host="%s" data-md="%s">'
            % (esc(row.health), esc(row.health), esc(row.host), esc(row.md))
            + "<td><b>%s</b></td>" % esc(row.host)
            + '<td><b>%s</b><br><span class="small">%s</span></td>'
            % (esc(row.md), esc(" ".join(row.domains)))
            + "<td>%s<br><span class=\"small\">%s</span></td>" % (badge("health", row.health), detail)
            + "<td>%s%s</td>" % (_moment(row.not_after, now), expiry_bar)
            + "<td>%s</td>" % _moment(row.renew_at, now)
            + "<td>%s</td>" % stapling
            + "<td>%s</td>" % (row.renewal_errors or "")
            + "</tr>")
    empty = '<tr><td colspan="7" class="empty">no host reported any managed domain</td></tr>'
    summary = "".join(badge("health", h, "%s %d" % (h, counts[h])) for h in FLEET_ORDER if counts.get(h))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>%s</title>' % esc(title),
        "<style>%s</style></head><body>" % css(),
        "<h1>%s</h1>" % esc(title),
        '<div class="meta">generated %s &middot; %d host%s, %d unreachable &middot; %d domain%s</div>' % (
            esc(http_date(report.generated)), len(report.hosts), "" if len(report.hosts) == 1 else "s",
            len(report.unreachable), len(report.rows), "" if len(report.rows) == 1 else "s"),
        '<div class="summary">%s</div>' % summary,
        "<h2>Expiry timeline (certificates per week from now)</h2>",
        _timeline_svg(report),
        '<h2>Hosts and domains, most urgent first</h2><table id="fleet"><thead><tr><th>Host</th>'
        "<th>Managed domain</th><th>Status</th><th>Expires</th><th>Renew at</th><th>Stapling</th>"
        "<th>Errors</th></tr></thead>",
        "<tbody>%s</tbody></table>" % ("\n".join(rows) or empty),
        _shared_html(report),
        "</body></html>",
        "",
    ])


__all__ = ["FleetReport", "FleetRow", "build_fleet_report", "fleet_json", "render_fleet_html", "UNREACHABLE",
           "DRIFT", "FLEET_ORDER", "MemberState"]
