"""The host's status page (status/index.html): a certificates table and a stapling table, as
Apache's server-status shows mod_md's, rows tinted by health and most urgent first. Static HTML
(no script), every value escaped."""

from __future__ import annotations

import datetime
import re

from ..timefmt import http_date, human_delta
from .model import Health, MdView, StatusReport
from .palette import css

_ESCAPED: dict[str, str] = {}  # a page of 1,000 domains escapes the same few hundred texts 40,000 times
_BROKEN: dict[str, str] = {}
_KEEP = 20000  # texts remembered per process (a long-lived process renders many pages)


def _escape(text: str) -> str:
    """html.escape(text, quote=True), without importing html (and its table of 2,000 entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
        .replace("'", "&#x27;")


def esc(value: object) -> str:
    text = "" if value is None else str(value)
    done = _ESCAPED.get(text)
    if done is None:
        done = _escape(text)
        if len(_ESCAPED) < _KEEP:
            _ESCAPED[text] = done
    return done


_BREAK_AFTER = re.compile(r"(?<=[./_?&=])(?=\S)")


def brk(value: object) -> str:
    """esc(), with break opportunities (<wbr>) after the dots, slashes and underscores of names, URLs
    and tokens (their width made tables wider than the screen); split before escaping, so that no
    <wbr> lands inside an entity."""
    text = "" if value is None else str(value)
    done = _BROKEN.get(text)
    if done is None:
        done = "<wbr>".join(esc(part) for part in _BREAK_AFTER.split(text))
        if len(_BROKEN) < _KEEP:
            _BROKEN[text] = done
    return done


def _when(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    if moment is None:
        return "-"
    relative = human_delta((moment - now).total_seconds())
    return '%s<br><span class="small">%s</span>' % (esc(http_date(moment)), esc(relative))


def badge(kind: str, value: str, text: str | None = None) -> str:
    return '<span class="badge %s-%s">%s</span>' % (kind, esc(value), esc(text or value))


def _renewal_cell(md: MdView, now: datetime.datetime) -> str:
    if md.static:
        return '<span class="small">static file: renewed by hand</span>'
    ren = md.renewal
    if ren is None:
        return "-"
    parts = _fleet_parts(md, now)
    if ren.last_run is not None:
        parts.append("last run %s" % esc(human_delta((ren.last_run - now).total_seconds())))
    if ren.order_pending:
        parts.append("order in progress")
    if ren.errors:
        parts.append("<b>%d error%s</b>" % (ren.errors, "" if ren.errors == 1 else "s"))
        if ren.last_error is not None:
            err = ren.last_error
            parts.append(brk(err.message) + (' <span class="small mono">%s</span>' % brk(err.problem_type)
                                             if err.problem_type else ""))
    if ren.next_run is not None:
        wait = (ren.next_run - now).total_seconds()
        parts.append("next run %s" % (esc(human_delta(wait)) if wait > 0 else "due now"))
    notify = md.notify
    if notify is not None and notify.failures and notify.last_failure is not None:
        parts.append("message command failed (%s): %s" % (esc(notify.last_failure.event),
                                                          brk(notify.last_failure.error)))
    if notify is not None and notify.pending:
        parts.append("undelivered: %s" % esc(", ".join(notify.pending)))
    return "<br>".join(parts) or "-"


def _fleet_parts(md: MdView, now: datetime.datetime) -> list[str]:
    """A shared domain: who orders it (imported here) or whom it is ordered for (issued here)."""
    fleet = md.fleet
    if fleet is None:
        return []
    if fleet.issued_here:
        others = [m for m in fleet.members if m != fleet.issuer]
        return ["shared: issued here" + (" for %s" % esc(", ".join(others)) if others else "")]
    text = "issued by <b>%s</b>" % esc(fleet.issuer)
    if fleet.imported_at is not None:
        text += ", imported %s" % esc(human_delta((fleet.imported_at - now).total_seconds()))
    return [text]


def cert_rows(report: StatusReport) -> list[str]:
    now = report.generated
    rows = []
    for md in report.by_urgency():
        keys = "<br>".join('%s <span class="mono small">%s</span>'
                           % (esc(c.key_type), esc(c.serial or c.error or "-")) for c in md.certs)
        keys = keys or '<span class="small">none yet</span>'
        ca = brk(md.ca_url or (md.ca_urls[0] if md.ca_urls else "")) if not md.static else "-"
        rows.append(
            '<tr class="health-%s" data-health="%s" data-md="%s">'
            % (esc(md.health), esc(md.health), esc(md.name))
            + "<td><b>%s</b></td>" % brk(md.name)
            + "<td>%s</td>" % "<br>".join(brk(n) for n in md.domains)
            + '<td>%s<br><span class="small">%s</span></td>'
            % (badge("health", md.health), brk(md.health_descr))
            + "<td>%s</td>" % _when(md.valid_until, now)
            + "<td>%s</td>" % _when(md.renew_at, now)
            + "<td>%s</td>" % keys
            + '<td class="small">%s</td>' % ca
            + '<td class="small">%s</td>' % _renewal_cell(md, now)
            + "</tr>")
    return rows


def staple_rows(report: StatusReport) -> list[str]:
    now = report.generated
    rows = []
    entries = []
    for md in report.by_urgency():
        for cert in md.certs:
            if cert.staple is not None:
                entries.append((md, cert, cert.staple))
    order = {"error": 0, "warning": 1, "none": 2, "ok": 3}
    entries.sort(key=lambda e: (order.get(e[2].health, 0),
                                e[2].next_update.timestamp() if e[2].next_update else 0))
    for md, cert, st in entries:
        valid = "-"
        if st.this_update is not None and st.next_update is not None:
            valid = "%s &ndash; %s<br><span class=\"small\">expires %s</span>" % (
                esc(http_date(st.this_update)), esc(http_date(st.next_update)),
                esc(human_delta((st.next_update - now).total_seconds())))
        activity = []
        if st.status == "no-responder":
            activity.append("certificate names no OCSP responder: nothing to staple (normal)")
        if st.errors:
            plural = "" if st.errors == 1 else "s"
            activity.append("<b>%d error%s</b>: %s" % (st.errors, plural, brk(st.last_error)))
        elif st.last_error:
            activity.append(brk(st.last_error))
        if st.next_retry is not None and st.errors:
            activity.append("retry %s" % esc(human_delta((st.next_retry - now).total_seconds())))
        if st.revocation_reason or st.status == "revoked":
            activity.append("revoked (%s)" % esc(st.revocation_reason or "no reason given"))
        rows.append(
            '<tr class="staple-%s" data-staple="%s" data-md="%s">'
            % (esc(st.health), esc(st.health), esc(md.name))
            + "<td><b>%s</b></td>" % brk(md.name)
            + "<td>%s</td>" % esc(cert.key_type)
            + "<td>%s</td>" % badge("staple", st.health, st.status)
            + "<td>%s</td>" % valid
            + "<td>%s</td>" % _when(st.refresh_at, now)
            + '<td class="small mono">%s</td>' % brk(st.responder or cert.ocsp_url or "-")
            + '<td class="small">%s</td>' % ("<br>".join(activity) or "-")
            + "</tr>")
    return rows


def summary_html(counts: dict[str, int]) -> str:
    return '<div class="summary">%s</div>' % "".join(
        badge("health", h, "%s %d" % (h, counts.get(h, 0))) for h in Health.ORDER if counts.get(h))


def render_html(report: StatusReport) -> str:
    counts = report.summary()
    certs = cert_rows(report)
    staples = staple_rows(report)
    empty_certs = '<tr><td colspan="8" class="empty">no managed domains in this store</td></tr>'
    empty_staples = '<tr><td colspan="7" class="empty">no stapled certificates</td></tr>'
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>mdfleet status: %s</title>" % esc(report.host),
        "<style>%s</style></head><body>" % css(),
        "<h1>Managed domains on %s</h1>" % esc(report.host),
        '<div class="meta">generated %s by mdfleet.md %s from %s &middot; %d domain%s</div>' % (
            esc(http_date(report.generated)), esc(report.version), esc(report.store), len(report.domains),
            "" if len(report.domains) == 1 else "s"),
        summary_html(counts),
        '<h2>Certificates</h2><table id="certificates"><thead><tr>'
        "<th>Domain</th><th>Names</th><th>Status</th><th>Valid until</th><th>Renew at</th>"
        "<th>Key types / serial</th><th>CA</th><th>Renewal</th></tr></thead>",
        "<tbody>%s</tbody></table>" % ("\n".join(certs) or empty_certs),
        '<h2>Stapling</h2><table id="stapling"><thead><tr>'
        "<th>Domain</th><th>Key type</th><th>OCSP status</th><th>Response valid</th><th>Refresh at</th>"
        "<th>Responder</th><th>Activity</th></tr></thead>",
        "<tbody>%s</tbody></table>" % ("\n".join(staples) or empty_staples),
        "</body></html>",
        "",
    ])


__all__ = ["render_html", "esc", "badge", "summary_html"]
