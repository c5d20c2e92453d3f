"""Prometheus text format (0.0.4) for node_exporter's textfile collector.

Per certificate: x509-certificate-exporter's names and labels (x509_cert_not_after,
x509_cert_not_before, x509_cert_expired, x509_cert_expires_in_seconds,
x509_cert_valid_since_seconds, x509_cert_error; labels serial_number (decimal), subject_*,
issuer_*, filename, filepath), so its dashboards and alerts work unchanged; we add md and
key_type. Per managed domain and staple: mdfleet_* series.
"""

from __future__ import annotations

import functools
import os
import re

from ..ocsp.state import OcspStatus
from .model import Health, MdView, StatusReport
from .page import EXPIRED, EXPIRES_IN, UNIX_NOW, VALID_SINCE
from .page import fill as fill_page

DN_FIELDS = ("C", "ST", "L", "O", "OU", "CN")
_ALIASES = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
            "stateOrProvinceName": "ST", "localityName": "L", "S": "ST"}
_SLASH_DN = re.compile(r"/([A-Za-z][A-Za-z0-9.]*)=((?:[^/]|/(?![A-Za-z][A-Za-z0-9.]*=))*)")
_RDN_COMMA = re.compile(r"(?<!\\),")  # compiled once: re's own cache lookup cost more than the split
_ESCAPED = re.compile(r"\\(.)")


def parse_dn(text: str | None) -> dict[str, str]:
    """Fields of '/CN=x/O=y' (mod_md's issuer-name) or 'CN=x,O=y' (RFC 4514); first value wins."""
    out: dict[str, str] = {}
    if not text:
        return out
    if text.startswith("/"):
        pairs = _SLASH_DN.findall(text)
    else:
        pairs = []
        for part in _RDN_COMMA.split(text):
            key, sep, value = part.partition("=")
            if sep:
                pairs.append((key.strip(), _ESCAPED.sub(r"\1", value) if "\\" in value else value))
    for key, value in pairs:
        key = _ALIASES.get(key, key)
        if key in DN_FIELDS and key not in out:
            out[key] = value
    return out


def escape_label(value: object) -> str:
    text = str(value)
    if "\\" in text or "\n" in text or '"' in text:  # rare: most values are names and numbers
        text = text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return text


def label_text(labels: dict[str, object]) -> str:
    """The inside of a sample's {...}: rendered once per certificate or domain and shared by
    all of its series (a label set was escaped again for every sample)."""
    return ",".join('%s="%s"' % (k, escape_label(v)) for k, v in labels.items())


def _number(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class Family:
    """One metric family: HELP, TYPE and its samples."""

    def __init__(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self.name, self.help, self.kind = name, help_text, kind
        self.samples: list[str] = []

    def add(self, labels: dict[str, object], value: float | int | bool) -> None:
        self.add_text(label_text(labels), value)

    def add_text(self, text: str, value: float | int | bool) -> None:
        """A sample whose labels are already rendered (label_text)."""
        self.samples.append("%s{%s} %s" % (self.name, text, _number(value)) if text else
                            "%s %s" % (self.name, _number(value)))

    def render(self) -> str:
        if not self.samples:
            return ""
        return self.head() + "\n".join(self.samples) + "\n"

    def head(self) -> str:
        text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return "# HELP %s %s\n# TYPE %s %s\n" % (self.name, text, self.name, self.kind)

    def page_into(self, parts: list, timed: list[tuple[str, tuple]] | None = None) -> None:
        """The family as parts of a page (status/page.py); ``timed``: its samples as (text before
        the value, the value's slot), which change with the time alone."""
        if timed:
            parts.append(self.head())
            for text, slot in timed:
                parts.extend((text, slot, "\n"))
        elif self.samples:
            parts.append(self.render())


@functools.lru_cache(maxsize=4096)
def _dn_labels(prefix: str, dn: str | None) -> str:
    """The rendered subject_* or issuer_* labels of a distinguished name (most certificates share
    their issuer: rendered once)."""
    fields = parse_dn(dn)
    return ",".join('%s%s="%s"' % (prefix, key, escape_label(fields.get(key, ""))) for key in DN_FIELDS)


def _cert_labels(md: MdView, cert) -> tuple[dict[str, str], str]:
    """The labels of a certificate's x509_* series that its mdfleet_ocsp_* series take too, and
    the rendered label set (label_text of serial_number, subject_*, issuer_*, filename, filepath,
    md, key_type)."""
    path = cert.files.cert if cert.files else ""
    try:
        serial = str(int(cert.serial, 16)) if cert.serial else ""
    except ValueError:
        serial = ""
    labels = {"filepath": path, "md": "" if md.static else md.name, "key_type": "" if md.static else cert.key_type}
    subject, issuer = _dn_labels("subject_", cert.subject), _dn_labels("issuer_", cert.issuer)
    rest = label_text({"filename": os.path.basename(path), **labels})
    text = 'serial_number="%s",%s,%s,%s' % (serial, subject, issuer, rest)
    return labels, text


FAMILIES = (
    ("x509_cert_not_after", "Unix timestamp of the certificate's NotAfter"),
    ("x509_cert_not_before", "Unix timestamp of the certificate's NotBefore"),
    ("x509_cert_expired", "1 if the certificate has expired"),
    ("x509_cert_expires_in_seconds", "Seconds until NotAfter (negative once expired)"),
    ("x509_cert_valid_since_seconds", "Seconds since NotBefore"),
    ("x509_cert_error", "1 if a monitored certificate file cannot be read"),
    ("mdfleet_md_state", "mod_md md-status state: 0 unknown, 1 incomplete, 2 complete, 3 expired, "
                         "4 error"),
    ("mdfleet_md_health", "1 for the managed domain's current health (expired, error, incomplete, "
                          "expiring, renewing, ok)"),
    ("mdfleet_md_renew_at_timestamp_seconds", "When the managed domain enters its renew window"),
    ("mdfleet_md_warn_at_timestamp_seconds", "When the managed domain enters its warn window (expiring)"),
    ("mdfleet_md_not_after_timestamp_seconds", "Earliest NotAfter of the managed domain's certificates"),
    ("mdfleet_md_renewal_errors", "Failed renewal attempts in a row"),
    ("mdfleet_md_renewal_last_run_timestamp_seconds", "Last renewal attempt"),
    ("mdfleet_md_renewal_next_run_timestamp_seconds",
     "Next renewal attempt (retry after errors, or renew-at)"),
    ("mdfleet_md_order_pending", "1 while an order is in progress"),
    ("mdfleet_md_imported", "Shared domains: 1 when ordered by another host (issuer) and imported here, 0 when "
                            "issued here"),
    ("mdfleet_md_imported_timestamp_seconds", "When the active set of a shared domain came from its issuer"),
    ("mdfleet_notify_failures", "Failed runs of the message command in a row"),
    ("mdfleet_notify_pending", "Events not yet delivered to the message command"),
    ("mdfleet_ocsp_status", "1 for the staple's current OCSP status (good, revoked, unknown, "
                            "no-responder, none, expired)"),
    ("mdfleet_ocsp_this_update_timestamp_seconds", "thisUpdate of the stored OCSP response"),
    ("mdfleet_ocsp_next_update_timestamp_seconds", "nextUpdate of the stored OCSP response"),
    ("mdfleet_ocsp_refresh_at_timestamp_seconds", "When the stored OCSP response is refreshed"),
    ("mdfleet_ocsp_errors", "Failed OCSP refreshes in a row"),
    ("mdfleet_ocsp_last_success_timestamp_seconds", "When a response was last fetched and accepted"),
)
_INDEX = {name: i for i, name in enumerate(name for name, _help in FAMILIES)}
(_NOT_AFTER, _NOT_BEFORE, _EXPIRED, _EXPIRES_IN, _VALID_SINCE, _ERROR, _MD_STATE, _MD_HEALTH) = range(8)
NOW = -1  # a sample list's entry (NOW, labels, not_after, not_before): the series that change every second
# Each label set is rendered once (label_text) and shared by its series; an added label
# (status=, health=) comes last, as dict(labels, status=...) put it.
_STATUS_LABELS = [(status, ',status="%s"' % escape_label(status)) for status in OcspStatus.ALL]
_HEALTH_LABELS = [(health, ',health="%s"' % escape_label(health)) for health in Health.ORDER]


def md_samples(md: MdView) -> list[tuple]:
    """The samples of one domain (or monitored file) that do not depend on the time of the
    rendering, as (family index, text), in order; the certificate series that do (expired,
    expires in, valid since) as one (NOW, labels, not_after, not_before) entry each, which
    render_prometheus turns into text at its time (the status memo keeps these lists)."""
    out: list[tuple] = []
    add = out.append
    ml = label_text({"md": md.name})
    index = _INDEX
    for cert in md.certs:
        labels, cl = _cert_labels(md, cert)
        if cert.error:
            add((_ERROR, "x509_cert_error{%s} 1" % cl))
            continue
        if cert.not_after is None or cert.not_before is None:
            continue
        if md.static:
            add((_ERROR, "x509_cert_error{%s} 0" % cl))
        after, before = cert.not_after.timestamp(), cert.not_before.timestamp()
        add((_NOT_AFTER, "x509_cert_not_after{%s} %d" % (cl, after)))
        add((_NOT_BEFORE, "x509_cert_not_before{%s} %d" % (cl, before)))
        add((NOW, cl, after, before))
        st = cert.staple
        if st is not None:
            sl = label_text({"md": labels["md"], "key_type": labels["key_type"], "filepath": labels["filepath"]})
            for status, text in _STATUS_LABELS:
                add((index["mdfleet_ocsp_status"], "mdfleet_ocsp_status{%s%s} %d" % (sl, text, st.status == status)))
            add((index["mdfleet_ocsp_errors"], "mdfleet_ocsp_errors{%s} %d" % (sl, st.errors)))
            for key, moment in (("this_update", st.this_update), ("next_update", st.next_update),
                                ("refresh_at", st.refresh_at), ("last_success", st.last_success)):
                if moment is not None:
                    name = "mdfleet_ocsp_%s_timestamp_seconds" % key
                    add((index[name], "%s{%s} %d" % (name, sl, moment.timestamp())))
    if md.static:
        return out
    add((_MD_STATE, "mdfleet_md_state{%s} %d" % (ml, md.state)))
    for health, text in _HEALTH_LABELS:
        add((_MD_HEALTH, "mdfleet_md_health{%s%s} %d" % (ml, text, md.health == health)))
    times = (("renew_at", md.renew_at), ("warn_at", md.warn_at), ("not_after", md.valid_until))
    for key, moment in times:
        if moment is not None:
            name = "mdfleet_md_%s_timestamp_seconds" % key
            add((index[name], "%s{%s} %d" % (name, ml, moment.timestamp())))
    if md.renewal is not None:
        add((index["mdfleet_md_renewal_errors"], "mdfleet_md_renewal_errors{%s} %s" % (ml, _number(md.renewal.errors))))
        add((index["mdfleet_md_order_pending"],
             "mdfleet_md_order_pending{%s} %s" % (ml, _number(md.renewal.order_pending))))
        for key, moment in (("last_run", md.renewal.last_run), ("next_run", md.renewal.next_run)):
            if moment is not None:
                name = "mdfleet_md_renewal_%s_timestamp_seconds" % key
                add((index[name], "%s{%s} %d" % (name, ml, moment.timestamp())))
    if md.fleet is not None:
        fl = label_text({"md": md.name, "issuer": md.fleet.issuer})
        add((index["mdfleet_md_imported"], "mdfleet_md_imported{%s} %s" % (fl, _number(md.imported))))
        if md.imported and md.fleet.imported_at is not None:
            add((index["mdfleet_md_imported_timestamp_seconds"], "mdfleet_md_imported_timestamp_seconds{%s} %s"
                 % (fl, _number(int(md.fleet.imported_at.timestamp())))))
    if md.notify is not None:
        add((index["mdfleet_notify_failures"], "mdfleet_notify_failures{%s} %s" % (ml, _number(md.notify.failures))))
        add((index["mdfleet_notify_pending"], "mdfleet_notify_pending{%s} %s" % (ml, _number(len(md.notify.pending)))))
    return out


def md_prom(md: MdView) -> tuple[tuple[str, ...], list[tuple[str, float, float]]]:
    """md_samples() of one domain as the status memo keeps it: per family, its samples as one
    text ("" for none); and the (labels, not_after, not_before) of the series rendered at each
    page's time."""
    texts: list[list[str]] = [[] for _family in FAMILIES]
    nows = []
    for entry in md_samples(md):
        if entry[0] == NOW:
            nows.append(entry[1:])
        else:
            texts[entry[0]].append(entry[1])
    return tuple("\n".join(t) for t in texts), nows


def render_prometheus(report: StatusReport) -> str:
    return fill_page(prometheus_page(report), report.generated)


def prometheus_page(report: StatusReport) -> list:
    """The Prometheus text as a template (status/page.py): the x509 series that change every
    second and the time of generation left open."""
    families = [Family(name, text) for name, text in FAMILIES]
    summary = Family("mdfleet_managed_domains", "Managed domains (and monitored files) by health")
    generated = Family("mdfleet_status_generated_timestamp_seconds",
                       "When this status was written (alert when it gets old: the timer stopped)")
    # Samples are appended to their family's list as text ("%d": int() of a number, 1/0 of a bool,
    # as _number and int(timedelta.total_seconds()) give them); a domain's samples of one family
    # as one text (md_prom, which the status memo keeps).
    add = [fam.samples.append for fam in families]
    timed: dict[int, list] = {_EXPIRED: [], _EXPIRES_IN: [], _VALID_SINCE: []}
    expired, expires_in, valid_since = timed[_EXPIRED].append, timed[_EXPIRES_IN].append, timed[_VALID_SINCE].append
    for md in sorted(report.domains, key=lambda m: m.name):
        made = getattr(md, "fragments", None)  # a domain the status memo answered (status/memo.py)
        texts, nows = made.prom if made is not None else md_prom(md)
        for cl, after, before in nows:
            expired(("x509_cert_expired{%s} " % cl, (EXPIRED, after)))
            expires_in(("x509_cert_expires_in_seconds{%s} " % cl, (EXPIRES_IN, after)))
            valid_since(("x509_cert_valid_since_seconds{%s} " % cl, (VALID_SINCE, before)))
        for append, text in zip(add, texts, strict=True):
            if text:
                append(text)
    for health, count in report.summary().items():
        summary.add({"health": health}, count)
    parts: list = []
    for i, fam in enumerate(families):
        fam.page_into(parts, timed.get(i))
    summary.page_into(parts)
    generated.page_into(parts, [(generated.name + " ", (UNIX_NOW,))])
    return parts


__all__ = ["render_prometheus", "md_prom", "md_samples", "NOW", "FAMILIES", "parse_dn", "escape_label", "label_text"]
