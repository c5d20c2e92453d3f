"""The host's status page (status/index.html): a certificates table and a stapling table, as
Apache's server-status shows mod_md's, rows tinted by health and most urgent first. Static HTML
(no script), every value escaped."""

from __future__ import annotations

import datetime
import re

from ..timefmt import http_date, human_delta
from .model import Health, MdView, StatusReport
from .page import HTTP_NOW, MARK, marked
from .page import escape as _escape
from .page import fill as fill_page
from .palette import css

_ESCAPED: dict[str, str] = {}  # a page of 1,000 domains escapes the same few hundred texts 40,000 times
_BROKEN: dict[str, str] = {}
_KEEP = 20000  # texts remembered per process (a long-lived process renders many pages)


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


class Rel:
    """The relative times ("in 3 days", "5 hours ago", "due now") of one domain's rows: a row
    is rendered with a MARK for each, and fill() writes them at the page's time; the status
    memo keeps rows and moments, which stay right however much later the page is made."""

    def __init__(self) -> None:
        self.moments: list[tuple[float, bool]] = []  # (unix time, "due now" once it has passed)

    def text(self, moment: datetime.datetime, due_now: bool = False) -> str:
        self.moments.append((moment.timestamp(), due_now))
        return MARK


def fill(row: str, moments: list[tuple[float, bool]] | tuple, now: float) -> str:
    """A row with its relative times written for ``now`` (unix seconds)."""
    if not moments:
        return row
    parts = row.split(MARK)
    out = [parts[0]]
    for (moment, due_now), part in zip(moments, parts[1:], strict=True):
        ahead = moment - now
        out.append("due now" if due_now and ahead <= 0 else esc(human_delta(ahead)))
        out.append(part)
    return "".join(out)


def _when(moment: datetime.datetime | None, rel: Rel) -> str:
    if moment is None:
        return "-"
    return '%s<br><span class="small">%s</span>' % (esc(http_date(moment)), esc(rel.text(moment)))


def badge(kind: str, value: str, text: str | None = None) -> str:
    return '<span class="badge %s-%s">%s</span>' % (kind, esc(value), esc(text or value))


def _renewal_cell(md: MdView, rel: Rel) -> str:
    if md.static:
        return '<span class="small">static file: renewed by hand</span>'
    ren = md.renewal
    if ren is None:
        return "-"
    parts = _fleet_parts(md, rel)
    if ren.last_run is not None:
        parts.append("last run %s" % esc(rel.text(ren.last_run)))
    if ren.order_pending:
        parts.append("order in progress")
    if ren.errors:
        parts.append("<b>%d error%s</b>" % (ren.errors, "" if ren.errors == 1 else "s"))
        if ren.last_error is not None:
            err = ren.last_error
            parts.append(brk(err.message) + (' <span class="small mono">%s</span>' % brk(err.problem_type)
                                             if err.problem_type else ""))
    if ren.next_run is not None:
        parts.append("next run %s" % rel.text(ren.next_run, due_now=True))
    notify = md.notify
    if notify is not None and notify.failures and notify.last_failure is not None:
        parts.append("message command failed (%s): %s" % (esc(notify.last_failure.event),
                                                          brk(notify.last_failure.error)))
    if notify is not None and notify.pending:
        parts.append("undelivered: %s" % esc(", ".join(notify.pending)))
    return "<br>".join(parts) or "-"


def _fleet_parts(md: MdView, rel: Rel) -> list[str]:
    """A shared domain: who orders it (imported here) or whom it is ordered for (issued here)."""
    fleet = md.fleet
    if fleet is None:
        return []
    if fleet.issued_here:
        others = [m for m in fleet.members if m != fleet.issuer]
        return ["shared: issued here" + (" for %s" % esc(", ".join(others)) if others else "")]
    text = "issued by <b>%s</b>" % esc(fleet.issuer)
    if fleet.imported_at is not None:
        text += ", imported %s" % esc(rel.text(fleet.imported_at))
    return [text]


STAPLE_ORDER = {"error": 0, "warning": 1, "none": 2, "ok": 3}


def cert_row(md: MdView, rel: Rel) -> str:
    """The certificates table's row of one domain."""
    keys = "<br>".join('%s <span class="mono small">%s</span>'
                       % (esc(c.key_type), esc(c.serial or c.error or "-")) for c in md.certs)
    keys = keys or '<span class="small">none yet</span>'
    ca = brk(md.ca_url or (md.ca_urls[0] if md.ca_urls else "")) if not md.static else "-"
    return ('<tr class="health-%s" data-health="%s" data-md="%s">'
            % (esc(md.health), esc(md.health), esc(md.name))
            + "<td><b>%s</b></td>" % brk(md.name)
            + "<td>%s</td>" % "<br>".join(brk(n) for n in md.domains)
            + '<td>%s<br><span class="small">%s</span></td>'
            % (badge("health", md.health), brk(md.health_descr))
            + "<td>%s</td>" % _when(md.valid_until, rel)
            + "<td>%s</td>" % _when(md.renew_at, rel)
            + "<td>%s</td>" % keys
            + '<td class="small">%s</td>' % ca
            + '<td class="small">%s</td>' % _renewal_cell(md, rel)
            + "</tr>")


def staple_rows_of(md: MdView, rel_of=Rel) -> list[tuple[int, float, str, list]]:
    """The stapling table's rows of one domain, each with its sort key (health, nextUpdate) and
    its relative times (Rel, one made by ``rel_of`` per row)."""
    rows = []
    for cert in md.certs:
        st = cert.staple
        if st is None:
            continue
        rel = rel_of()
        valid = "-"
        if st.this_update is not None and st.next_update is not None:
            valid = "%s &ndash; %s<br><span class=\"small\">expires %s</span>" % (
                esc(http_date(st.this_update)), esc(http_date(st.next_update)), esc(rel.text(st.next_update)))
        activity = []
        if st.status == "no-responder":
            activity.append("certificate names no OCSP responder: nothing to staple (normal)")
        if st.errors:
            plural = "" if st.errors == 1 else "s"
            activity.append("<b>%d error%s</b>: %s" % (st.errors, plural, brk(st.last_error)))
        elif st.last_error:
            activity.append(brk(st.last_error))
        if st.next_retry is not None and st.errors:
            activity.append("retry %s" % esc(rel.text(st.next_retry)))
        if st.revocation_reason or st.status == "revoked":
            activity.append("revoked (%s)" % esc(st.revocation_reason or "no reason given"))
        row = ('<tr class="staple-%s" data-staple="%s" data-md="%s">'
               % (esc(st.health), esc(st.health), esc(md.name))
               + "<td><b>%s</b></td>" % brk(md.name)
               + "<td>%s</td>" % esc(cert.key_type)
               + "<td>%s</td>" % badge("staple", st.health, st.status)
               + "<td>%s</td>" % valid
               + "<td>%s</td>" % _when(st.refresh_at, rel)
               + '<td class="small mono">%s</td>' % brk(st.responder or cert.ocsp_url or "-")
               + '<td class="small">%s</td>' % ("<br>".join(activity) or "-")
               + "</tr>")
        rows.append((STAPLE_ORDER.get(st.health, 0), st.next_update.timestamp() if st.next_update else 0, row,
                     rel.moments))
    return rows


def md_rows(md: MdView) -> tuple[str, list, list] | None:
    """One domain's rows of both tables with their relative times left open (Rel, fill()): the
    certificates row, its moments, and the stapling rows (staple_rows_of); None when a text of
    the domain holds a MARK itself (then only a row rendered for one time is right)."""
    rel = Rel()
    row = cert_row(md, rel)
    staples = staple_rows_of(md)
    if row.count(MARK) != len(rel.moments) or any(r[2].count(MARK) != len(r[3]) for r in staples):
        return None
    return row, rel.moments, staples


def _rows_at(md: MdView, now: float) -> tuple[str, list[tuple[int, float, str]]]:
    """The rows of a domain whose own texts hold a MARK: each time written as it is made."""
    row = cert_row(md, _FixedRel(now))
    return row, [(order, ahead, text) for order, ahead, text, _none in staple_rows_of(md, lambda: _FixedRel(now))]


class _FixedRel(Rel):
    def __init__(self, now: float) -> None:
        super().__init__()
        self.now = now

    def text(self, moment: datetime.datetime, due_now: bool = False) -> str:
        return fill(MARK, [(moment.timestamp(), due_now)], self.now)


def summary_html(counts: dict[str, int]) -> str:
    return '<div class="summary">%s</div>' % "".join(
        badge("health", h, "%s %d" % (h, counts.get(h, 0))) for h in Health.ORDER if counts.get(h))


def render_html(report: StatusReport) -> str:
    return fill_page(html_page(report), report.generated)


def html_page(report: StatusReport) -> list:
    """The host page as a template (status/page.py): its relative times and its time of
    generation left open."""
    counts = report.summary()
    urgent = report.by_urgency()
    now = report.generated.timestamp()
    rows = [_row_parts(md, now) for md in urgent]
    certs = [row for row, _staples in rows]
    staples = sorted((e for _row, entries in rows for e in entries), key=lambda e: (e[0], e[1]))
    staples = [(text, moments) for _order, _next, text, moments in staples]
    empty_certs = '<tr><td colspan="8" class="empty">no managed domains in this store</td></tr>'
    empty_staples = '<tr><td colspan="7" class="empty">no stapled certificates</td></tr>'
    parts: list = ["\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>mdfleet status: %s</title>" % esc(report.host),
        "<style>%s</style></head><body>" % css(),
        "<h1>Managed domains on %s</h1>" % esc(report.host),
        '<div class="meta">generated ']), (HTTP_NOW,), "\n".join([
            ' by mdfleet.md %s from %s &middot; %d domain%s</div>' % (
                esc(report.version), esc(report.store), len(report.domains), "" if len(report.domains) == 1 else "s"),
            summary_html(counts),
            '<h2>Certificates</h2><table id="certificates"><thead><tr>'
            "<th>Domain</th><th>Names</th><th>Status</th><th>Valid until</th><th>Renew at</th>"
            "<th>Key types / serial</th><th>CA</th><th>Renewal</th></tr></thead>",
            "<tbody>"])]
    _rows_into(parts, certs, empty_certs)
    parts.append("</tbody></table>\n" + '<h2>Stapling</h2><table id="stapling"><thead><tr>'
                 "<th>Domain</th><th>Key type</th><th>OCSP status</th><th>Response valid</th><th>Refresh at</th>"
                 "<th>Responder</th><th>Activity</th></tr></thead>\n<tbody>")
    _rows_into(parts, staples, empty_staples)
    parts.append("</tbody></table>\n</body></html>\n")
    return parts


def _rows_into(parts: list, rows: list[tuple[str, list]], empty: str) -> None:
    if not rows:
        parts.append(empty)
        return
    for i, (text, moments) in enumerate(rows):
        if i:
            parts.append("\n")
        marked(text, moments, parts)


def _row_parts(md: MdView, now: float) -> tuple[tuple[str, list], list[tuple[int, float, str, list]]]:
    """A domain's certificates row and stapling rows with their relative times left open (MARKs
    and their moments; written for ``now`` where a text of the domain holds a MARK itself)."""
    made = getattr(md, "fragments", None)
    made = (made.cert_row, made.cert_moments, made.staple_rows) if made is not None else md_rows(md)
    if made is None:
        row, staples = _rows_at(md, now)
        return (row, []), [(order, ahead, text, []) for order, ahead, text in staples]
    row, moments, staples = made
    return (row, moments), list(staples)


__all__ = ["render_html", "esc", "badge", "summary_html"]
