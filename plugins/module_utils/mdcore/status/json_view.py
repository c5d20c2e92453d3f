"""JSON views: mod_md's md-status key names, plus our own keys, plus '<key>-unix' timestamps next
to every time (mod_md gives HTTP dates only). Keys whose value is unknown are left out, as mod_md
does. Schema: docs/schemas/md-status.schema.json."""

from __future__ import annotations

import datetime
import json

from ..errors import ConfigError
from ..events import EventName
from ..keytypes import key_spec
from ..options.defaults import KEY_NAMES
from ..timefmt import http_date, unix
from .model import CertView, FleetView, Health, MdView, NotifyFailure, NotifyView, RenewalView, StapleView, StatusReport

RENEW_MODE_MANUAL = 0  # mod_md's MD_RENEW_MANUAL: static files
RENEW_MODE_AUTO = 1  # MD_RENEW_AUTO


_TIMES: dict[datetime.datetime, tuple[str | None, int | None]] = {}  # a domain's few times, shown 10-20 times
_UNIX_KEYS: dict[str, str] = {}


def _time(doc: dict, key: str, moment: datetime.datetime | None) -> None:
    if moment is not None:
        shown = _TIMES.get(moment)
        if shown is None:
            shown = (http_date(moment), unix(moment))
            if len(_TIMES) < 50000:
                _TIMES[moment] = shown
        unix_key = _UNIX_KEYS.get(key)
        if unix_key is None:
            unix_key = _UNIX_KEYS[key] = key + "-unix"
        doc[key], doc[unix_key] = shown


def _valid(start: datetime.datetime | None, end: datetime.datetime | None) -> dict:
    doc: dict = {}
    _time(doc, "from", start)
    _time(doc, "until", end)
    return doc


def _put(doc: dict, key: str, value) -> None:
    if value is not None:
        doc[key] = value


class KeyNames:
    """How the md-status view names the certificates of a domain under ``cert``."""

    MDFLEET = "mdfleet"  # our key types, as in the configuration: p256, rsa2048 (the default)
    MOD_MD = "mod_md"  # mod_md's: secp256r1, secp384r1, rsa (for rsa2048), so mod_md users' scripts work
    ALL = KEY_NAMES  # (MDFLEET, MOD_MD): status.key_names' choices in the option table


def cert_key(key_type: str, key_names: str) -> str:
    if key_names != KeyNames.MOD_MD:
        return key_type
    try:
        return key_spec(key_type).status_name
    except ConfigError:
        return key_type  # not one of ours (a static file's "file"): as it is


def staple_json(staple: StapleView, name: str | None = None, notified: bool = False) -> dict:
    doc: dict = {"status": staple.status, "health": staple.health}
    _put(doc, "responder", staple.responder)
    if staple.this_update or staple.next_update:
        doc["valid"] = _valid(staple.this_update, staple.next_update)
    _time(doc, "refresh-at", staple.refresh_at)
    if staple.revocation_time or staple.status == "revoked":
        revoked: dict = {}
        _time(revoked, "at", staple.revocation_time)
        _put(revoked, "reason", staple.revocation_reason)
        doc["revoked"] = revoked
    if staple.renew_required:
        doc["renew-required"] = True
        doc["new-key-required"] = staple.new_key_required
    # mod_md's ocsp renewal job keys: the job's name, whether it is done (nothing to retry), whether
    # the ocsp-renewed event went out for the response now stored (notified-renewed belongs to
    # mod_md's certificate jobs: an OCSP job never fires 'renewed'), and what it did last.
    renewal: dict = {"errors": staple.errors}
    _put(renewal, "name", name)
    renewal["finished"] = not (staple.errors and staple.next_retry)
    renewal["notified"] = notified
    renewal["notified-renewed"] = False
    _time(renewal, "last-run", staple.last_attempt or staple.fetched_at)
    _time(renewal, "last-success", staple.last_success)
    retrying = staple.errors and staple.next_retry
    _time(renewal, "next-run", staple.next_retry if retrying else staple.refresh_at)
    if staple.last_error:
        renewal["last"] = {"status": 1, "detail": staple.last_error,
                           "activity": "asking %s" % (staple.responder or "the responder")}
        _time(renewal["last"], "at", staple.last_error_at)
    elif staple.fetched_at is not None:
        renewal["last"] = {"status": 0, "detail": "certificate status is %s" % staple.status.upper(),
                           "activity": "response from %s stored" % (staple.responder or "the responder")}
    doc["renewal"] = renewal
    return doc


def cert_json(cert: CertView, md: str | None = None, notify: NotifyView | None = None) -> dict:
    doc: dict = {}
    _put(doc, "serial", cert.serial)
    _put(doc, "sha256-fingerprint", cert.sha256_fingerprint)
    _put(doc, "issuer-name", cert.issuer)
    _put(doc, "subject", cert.subject)
    doc["domains"] = list(cert.names)
    doc["valid"] = _valid(cert.not_before, cert.not_after)
    _put(doc, "ari-cert-id", cert.ari_cert_id)
    _put(doc, "ocsp-url", cert.ocsp_url)
    _time(doc, "renew-at", cert.renew_at)
    _time(doc, "warn-at", cert.warn_at)
    if cert.files is not None:
        files = {"cert": cert.files.cert}
        for key in ("chain", "fullchain", "key"):
            _put(files, key, getattr(cert.files, key))
        doc["files"] = files
    _put(doc, "error", cert.error)
    if cert.staple is not None:
        doc["ocsp"] = staple_json(cert.staple, md, _sent_since(notify, EventName.OCSP_RENEWED, cert.staple.fetched_at))
    return doc


def _sent_since(notify: NotifyView | None, event: str, since: datetime.datetime | None) -> bool:
    sent = notify.last_sent.get(event) if notify is not None else None
    return bool(sent and since and sent >= since)


def renewal_json(name: str, renewal: RenewalView, issued_by: str | None = None,
                 notify: NotifyView | None = None) -> dict:
    # mod_md's notified / notified-renewed: the 'installed' and 'renewed' events of the latest
    # successful renewal went out (to the message command)
    doc: dict = {"name": name, "finished": renewal.finished, "errors": renewal.errors,
                 "notified": _sent_since(notify, EventName.INSTALLED, renewal.last_success),
                 "notified-renewed": _sent_since(notify, EventName.RENEWED, renewal.last_success)}
    _put(doc, "issued-by", issued_by)  # a shared domain ordered by another host: it renews it
    _time(doc, "last-run", renewal.last_run)
    _time(doc, "last-success", renewal.last_success)
    _time(doc, "next-run", renewal.next_run)
    if renewal.last_error is not None:
        last: dict = {"status": 1, "detail": renewal.last_error.message}
        _put(last, "problem", renewal.last_error.problem_type)
        _put(last, "problem-detail", renewal.last_error.detail)
        doc["last"] = last
    elif renewal.last_run is not None:
        doc["last"] = {"status": 0}
    entries = []
    for entry in renewal.log:
        item: dict = {"type": entry.kind, "detail": entry.detail}
        _time(item, "when", entry.when)
        entries.append(item)
    doc["log"] = {"entries": entries}
    return doc


def _failure(failure: NotifyFailure) -> dict:
    doc: dict = {"event": failure.event, "error": failure.error, "timed-out": failure.timed_out}
    _time(doc, "at", failure.at)
    return doc


def notify_json(view: NotifyView) -> dict:
    doc: dict = {"failures": view.failures, "pending": list(view.pending)}
    if view.last_failure is not None:
        doc["last-failure"] = _failure(view.last_failure)
    if view.postponed is not None:
        doc["postponed"] = _failure(view.postponed)
    sent: dict = {}
    for event, moment in sorted(view.last_sent.items()):
        sent[event] = {}
        _time(sent[event], "at", moment)
    doc["last-sent"] = sent
    return doc


def md_fleet_json(fleet: FleetView) -> dict:
    """Our own key for shared domains: who orders it, who serves it, where this host's set came from."""
    doc: dict = {"issuer": fleet.issuer, "issued-here": fleet.issued_here, "members": list(fleet.members),
                 "imported": None}
    if fleet.imported_from is not None:
        imported: dict = {"from": fleet.imported_from}
        _time(imported, "at", fleet.imported_at)
        doc["imported"] = imported
    return doc


def md_json(md: MdView, now: datetime.datetime | None = None, key_names: str = KeyNames.MDFLEET) -> dict:
    doc: dict = {"name": md.name, "domains": list(md.domains), "state": md.state,
                 "state-descr": md.state_descr,
                 "health": md.health, "health-descr": md.health_descr, "urgency": Health.rank(md.health),
                 "renew-mode": RENEW_MODE_MANUAL if md.static else RENEW_MODE_AUTO,
                 "renew-window": md.renew_window, "warn-window": md.warn_window, "renew": md.renew,
                 "static": md.static, "stapling": md.stapling, "key-types": list(md.key_types)}
    if not md.static:
        ca: dict = {"proto": "ACME", "urls": list(md.ca_urls)}
        _put(ca, "url", md.ca_url)
        if md.challenge:
            ca["challenges"] = [md.challenge]
        doc["ca"] = ca
        doc["contacts"] = list(md.contacts)
        _put(doc, "profile", md.profile)
        doc["ari-renewals"] = md.ari
    _time(doc, "renew-at", md.renew_at)
    _time(doc, "warn-at", md.warn_at)
    # No 'seconds left' here: a value that changes on every run would rewrite (and fsync) every
    # domain's file on every run. valid.until-unix says the same to machines.
    until = md.valid_until
    cert: dict = {}
    if md.certs:
        cert["valid"] = _valid(md.valid_from, until)
    for view in md.certs:
        cert[cert_key(view.key_type, key_names)] = cert_json(view, md.name, md.notify)
    doc["cert"] = cert
    if md.fleet is not None:
        doc["fleet"] = md_fleet_json(md.fleet)
    if md.renewal is not None:
        doc["renewal"] = renewal_json(md.name, md.renewal, md.fleet.issuer if md.imported and md.fleet else None,
                                      md.notify)
    if md.notify is not None:
        doc["notify"] = notify_json(md.notify)
    return doc


def md_line(md: MdView, key_names: str = KeyNames.MDFLEET) -> str:
    """One domain's md-status document as one line of JSON (sorted keys): its status file, its
    line of md-status.json and of `mdfleet status --json` alike (the status memo keeps it)."""
    memo = getattr(md, "fragments", None)  # a domain the status memo answered (status/memo.py)
    if memo is not None:
        return memo.line
    return json.dumps(md_json(md, None, key_names), sort_keys=True)


def _report_head(report: StatusReport, key_names: str) -> dict:
    doc: dict = {"version": report.version, "generator": "mdfleet.md", "host": report.host,
                 "store": report.store}
    _time(doc, "generated", report.generated)
    doc["summary"] = report.summary()
    doc["key-names"] = key_names
    return doc


def report_json(report: StatusReport, key_names: str = KeyNames.MDFLEET) -> dict:
    """md-status.json as a document: every domain, most urgent first (certificates named as
    ``key_names`` says). Domains the status memo answered are decoded from their line."""
    doc = _report_head(report, key_names)
    doc["managed-domains"] = [md_json(md, report.generated, key_names) if getattr(md, "fragments", None) is None
                              else json.loads(md.fragments.line) for md in report.by_urgency()]
    return doc


def report_text(report: StatusReport, key_names: str = KeyNames.MDFLEET, sort_keys: bool = False,
                lines: dict[int, str] | None = None) -> str:
    """md-status.json as text (json_text: one domain a line), each domain's line as md_line()
    gives it; ``lines``: those already made (by id() of their view)."""
    doc, encoded = report_doc(report, key_names, lines)
    return json_text(doc, sort_keys=sort_keys, encoded=encoded)


def report_doc(report: StatusReport, key_names: str, lines: dict[int, str] | None) -> tuple[dict, dict]:
    """md-status.json's document with a placeholder per domain, and each one's line (json_text's
    ``encoded``)."""
    made = lines or {}
    doc = _report_head(report, key_names)
    holders, encoded = [], {}
    for md in report.by_urgency():
        holder: dict = {}
        holders.append(holder)
        encoded[id(holder)] = made.get(id(md)) or md_line(md, key_names)
    doc["managed-domains"] = holders
    return doc, encoded


def json_text(doc: dict, sort_keys: bool = False, encoded: dict[int, str] | None = None) -> str:
    """A JSON view as text: one top-level key a line, and one line per item of a list of objects
    (md-status.json: one managed domain a line). Readable and diffable, and every line comes from
    json's C encoder: indent=2 runs the pure-Python one, which took most of an idle run of 1,000
    domains. ``encoded``: items already encoded (by id()), e.g. for their own files."""
    known = encoded or {}
    lines = []
    for key, value in sorted(doc.items()) if sort_keys else doc.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            items = [known.get(id(item)) or json.dumps(item, sort_keys=sort_keys) for item in value]
            text = "[\n    " + ",\n    ".join(items) + "\n  ]"
        else:
            text = json.dumps(value, sort_keys=sort_keys)
        lines.append("  %s: %s" % (json.dumps(key), text))
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


__all__ = ["KeyNames", "json_text", "cert_key", "report_json", "report_text", "md_line", "md_json", "cert_json",
           "staple_json", "renewal_json", "notify_json", "md_fleet_json"]
