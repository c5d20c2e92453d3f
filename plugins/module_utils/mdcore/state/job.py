"""jobs/<md>.json: a managed domain's renewal job (last run, errors, backoff, a short log), the
non-secret snapshot of its config that status views show, and each certificate's ARI state."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..options.defaults import DEFAULT_RENEW_WINDOW, DEFAULT_WARN_WINDOW
from ..window import Window
from .fields import (
    FormatError,
    check_version,
    count,
    flag,
    iso,
    kind,
    obj,
    obj_map,
    opt_str,
    opt_time,
    req_str,
    str_list,
)

VERSION = 1
LOG_KEEP = 20


@dataclass
class JobError:
    message: str
    problem_type: str | None = None  # the CA's RFC 7807 problem type
    detail: str | None = None
    retry_hot: bool = True

    def to_json(self) -> dict:
        return {"message": self.message, "problem_type": self.problem_type, "detail": self.detail,
                "retry_hot": self.retry_hot}

    @classmethod
    def from_json(cls, doc: object) -> JobError:
        what = "last_error"
        doc = obj(doc, what)
        return cls(req_str(doc, "message", what), opt_str(doc, "problem_type", what), opt_str(doc, "detail", what),
                   flag(doc, "retry_hot", what, True))


@dataclass
class LogEntry:
    when: datetime.datetime
    kind: str  # renewed, error, ari, imported, note
    detail: str

    def to_json(self) -> dict:
        return {"when": iso(self.when), "type": self.kind, "detail": self.detail}

    @classmethod
    def from_json(cls, doc: object) -> LogEntry:
        what = "log entry"
        doc = obj(doc, what)
        when = opt_time(doc, "when", what)
        if when is None:
            raise FormatError("log entry: 'when' is missing")
        return cls(when, req_str(doc, "type", what), opt_str(doc, "detail", what) or "")


@dataclass
class FleetSnapshot:
    issuer: str
    members: list[str] = field(default_factory=list)
    issued_here: bool = True

    def to_json(self) -> dict:
        return {"issuer": self.issuer, "members": list(self.members), "issued_here": self.issued_here}

    @classmethod
    def from_json(cls, doc: object) -> FleetSnapshot:
        what = "config.fleet"
        doc = obj(doc, what)
        return cls(req_str(doc, "issuer", what), str_list(doc, "members", what), flag(doc, "issued_here", what, True))


@dataclass
class ConfigSnapshot:
    """What status views need to know of a domain's config; never secrets (no EAB key)."""

    names: list[str] = field(default_factory=list)
    key_types: list[str] = field(default_factory=list)
    cas: list[str] = field(default_factory=list)
    challenge: str | None = None
    renew_window: str = DEFAULT_RENEW_WINDOW
    warn_window: str = DEFAULT_WARN_WINDOW
    contact: list[str] = field(default_factory=list)
    profile: str | None = None
    ari: bool = True
    fleet: FleetSnapshot | None = None

    def to_json(self) -> dict:
        doc = {"names": list(self.names), "key_types": list(self.key_types), "cas": list(self.cas),
               "challenge": self.challenge, "renew_window": self.renew_window, "warn_window": self.warn_window,
               "contact": list(self.contact), "profile": self.profile, "ari": self.ari}
        if self.fleet is not None:
            doc["fleet"] = self.fleet.to_json()
        return doc

    @classmethod
    def from_json(cls, doc: object) -> ConfigSnapshot:
        what = "config"
        doc = obj(doc, what)
        fleet = doc.get("fleet")
        return cls(names=str_list(doc, "names", what), key_types=str_list(doc, "key_types", what),
                   cas=str_list(doc, "cas", what), challenge=opt_str(doc, "challenge", what),
                   renew_window=_window_text(doc, "renew_window", DEFAULT_RENEW_WINDOW),
                   warn_window=_window_text(doc, "warn_window", DEFAULT_WARN_WINDOW),
                   contact=str_list(doc, "contact", what), profile=opt_str(doc, "profile", what),
                   ari=flag(doc, "ari", what, True),
                   fleet=FleetSnapshot.from_json(fleet) if fleet is not None else None)


def _window_text(doc: dict, key: str, default: str) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str):
        raise FormatError("config: '%s' must be a window text ('33%%', '30d'), not %s" % (key, kind(value)))
    try:
        return Window.parse(value).text
    except ConfigError as exc:
        raise FormatError("config: %s" % exc) from None


@dataclass
class AriState:
    """What we know of one certificate's renewal info (RFC 9773)."""

    cert_id: str
    supported: bool = True
    window_start: datetime.datetime | None = None
    window_end: datetime.datetime | None = None
    chosen: datetime.datetime | None = None  # the renewal time picked inside the window
    next_check: datetime.datetime | None = None
    explanation_url: str | None = None
    last_error: str | None = None

    def chosen_at(self) -> datetime.datetime | None:
        return self.chosen if self.supported else None

    def to_json(self) -> dict:
        return {"cert_id": self.cert_id, "supported": self.supported, "window_start": iso(self.window_start),
                "window_end": iso(self.window_end), "chosen": iso(self.chosen), "next_check": iso(self.next_check),
                "explanation_url": self.explanation_url, "last_error": self.last_error}

    @classmethod
    def from_json(cls, doc: object, what: str = "ari") -> AriState:
        doc = obj(doc, what)
        return cls(req_str(doc, "cert_id", what), flag(doc, "supported", what, True),
                   opt_time(doc, "window_start", what), opt_time(doc, "window_end", what),
                   opt_time(doc, "chosen", what), opt_time(doc, "next_check", what),
                   opt_str(doc, "explanation_url", what), opt_str(doc, "last_error", what))


@dataclass
class JobState:
    md: str
    last_run: datetime.datetime | None = None
    last_success: datetime.datetime | None = None
    errors: int = 0
    next_retry: datetime.datetime | None = None
    last_error: JobError | None = None
    log: list[LogEntry] = field(default_factory=list)
    input_digest: str | None = None  # config_digest() when the last error happened: new input ends backoff
    config: ConfigSnapshot | None = None
    ari: dict[str, AriState] = field(default_factory=dict)  # key type -> ARI state

    def add_log(self, now: datetime.datetime, kind_: str, text: str) -> None:
        self.log.append(LogEntry(now, kind_, text))
        del self.log[:-LOG_KEEP]

    def to_json(self) -> dict:
        return {"version": VERSION, "md": self.md, "last_run": iso(self.last_run),
                "last_success": iso(self.last_success), "errors": self.errors, "next_retry": iso(self.next_retry),
                "last_error": self.last_error.to_json() if self.last_error else None,
                "log": [e.to_json() for e in self.log], "input_digest": self.input_digest,
                "config": self.config.to_json() if self.config else None,
                "ari": {kt: a.to_json() for kt, a in self.ari.items()}}

    @classmethod
    def from_json(cls, doc: object, md: str | None = None) -> JobState:
        what = "job"
        doc = obj(doc, what)
        check_version(doc, VERSION, what)
        name = req_str(doc, "md", what)
        if md is not None and name != md:
            raise FormatError("job: 'md' is %r, but the file is for %r" % (name, md))
        log = doc.get("log") or []
        if not isinstance(log, list):
            raise FormatError("job: 'log' must be a list, not %s" % kind(log))
        err, config = doc.get("last_error"), doc.get("config")
        return cls(md=name, last_run=opt_time(doc, "last_run", what), last_success=opt_time(doc, "last_success", what),
                   errors=count(doc, "errors", what), next_retry=opt_time(doc, "next_retry", what),
                   last_error=JobError.from_json(err) if err is not None else None,
                   log=[LogEntry.from_json(e) for e in log][-LOG_KEEP:],
                   input_digest=opt_str(doc, "input_digest", what),
                   config=ConfigSnapshot.from_json(config) if config else None,
                   ari={kt: AriState.from_json(a, "ari.%s" % kt) for kt, a in obj_map(doc, "ari", what).items()})


__all__ = ["JobState", "JobError", "LogEntry", "ConfigSnapshot", "FleetSnapshot", "AriState", "VERSION"]
