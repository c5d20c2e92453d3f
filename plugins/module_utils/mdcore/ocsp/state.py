"""Status constants, the persisted metadata of one staple (:class:`StapleState`) and the outcome
of one refresh (:class:`StapleResult`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..clock import from_iso, to_iso

STATE_VERSION = 1


def _shallow(obj) -> dict:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


class OcspStatus:
    """What a staple says about its certificate (first three) or why there is none."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NO_RESPONDER = "no-responder"  # the certificate names no OCSP responder: normal, not an error
    NONE = "none"  # no response yet (never fetched, or every attempt failed)
    EXPIRED = "expired"  # the stored response passed its nextUpdate (an outage outlasted it)

    CERT_STATUSES = (GOOD, REVOKED, UNKNOWN)
    ALL = (GOOD, REVOKED, UNKNOWN, NO_RESPONDER, NONE, EXPIRED)


class StapleAction:
    """What one run did for one certificate."""

    FETCHED = "fetched"  # a new response was fetched, verified and stored
    KEPT = "kept"  # the stored response is fresh enough: nothing asked
    FAILED = "failed"  # fetching or verifying failed: the stored response (if any) stays
    BACKOFF = "backoff"  # due, but waiting for the next retry after failures
    WOULD_FETCH = "would-fetch"  # check mode: would ask the responder
    SKIPPED = "skipped"  # no responder (or the certificate cannot be read)


@dataclass
class StapleState:
    """One certificate's entry in the store's staple book (ocsp/staples.json, see persist.py).

    Response fields (status ... response) describe the stored DER and change only when a verified
    response replaces it; error fields (last_error ... next_retry) describe the latest attempts.
    ``response`` holds the DER as base64 so metadata and response are replaced together; staple
    files and the store's .der copies are copies for web servers and tools.
    """

    cert_path: str = ""
    cert_sha256: str = ""  # of the certificate file's DER: a renewed certificate needs a new response
    cert_ocsp_url: str | None = None  # the certificate's AIA OCSP URL (so an unchanged one is not parsed)
    md: str | None = None
    key_type: str | None = None
    responder: str | None = None
    certid: dict | None = None  # {"hash", "issuer_name_hash", "issuer_key_hash" (hex), "serial" (HEX)}
    status: str = OcspStatus.NONE
    this_update: datetime.datetime | None = None
    next_update: datetime.datetime | None = None
    produced_at: datetime.datetime | None = None
    fetched_at: datetime.datetime | None = None  # when the stored response was fetched (any status)
    succeeded_at: datetime.datetime | None = None  # when a definitive answer (good/revoked) was last accepted
    refresh_at: datetime.datetime | None = None
    responder_id: str | None = None  # who signed: "issuer" or the delegated responder's subject
    revocation_time: datetime.datetime | None = None
    revocation_reason: str | None = None
    renew_required: bool = False  # revoked: the renewal logic must replace the certificate
    new_key_required: bool = False  # revoked for keyCompromise: ... with a new key
    response: str | None = None  # base64 DER of the stored response
    response_sha256: str | None = None
    pushed_sha256: str | None = None  # the response last accepted by haproxy's runtime API
    last_error: str | None = None
    last_error_at: datetime.datetime | None = None
    errors: int = 0  # failures in a row
    next_retry: datetime.datetime | None = None
    last_attempt: datetime.datetime | None = None

    _TIMES = ("this_update", "next_update", "produced_at", "fetched_at", "succeeded_at", "refresh_at",
              "revocation_time", "last_error_at", "next_retry", "last_attempt")

    def has_response(self) -> bool:
        return bool(self.response) and self.next_update is not None

    def valid_at(self, now: datetime.datetime) -> bool:
        """A stored response that may still be served at ``now``."""
        return self.has_response() and now < self.next_update

    def to_json(self) -> dict:
        data = _shallow(self)  # dataclasses.asdict deep-copies every datetime: 10x slower
        if data["certid"] is not None:
            data["certid"] = dict(data["certid"])
        for name in self._TIMES:
            data[name] = to_iso(data[name])
        data["version"] = STATE_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict) -> StapleState:
        """An entry of the book; ValueError (or TypeError) when a field is not of its type: the
        entry then reads as nothing stored (bookread.state_of) and is fetched and written anew."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name, value in known.items():
            if name in cls._TIMES:
                if value is not None and not isinstance(value, str):
                    raise ValueError("staple entry: '%s' is no time" % name)
                known[name] = from_iso(value)
            elif not _FIELD_CHECKS[name](value):
                raise ValueError("staple entry: '%s' has the wrong type" % name)
        if "succeeded_at" not in data and data.get("status") in (OcspStatus.GOOD, OcspStatus.REVOKED):
            known["succeeded_at"] = known.get("fetched_at")  # books written before the field existed
        return cls(**known)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _certid(value: object) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


# How each field of the book is checked (times apart): what is not of its type is no entry.
_FIELD_CHECKS = {"cert_path": _text, "cert_sha256": _text, "status": _text, "certid": _certid, "errors": _count,
                 "renew_required": _flag, "new_key_required": _flag}
_FIELD_CHECKS.update((name, _text_or_none) for name in (
    "cert_ocsp_url", "md", "key_type", "responder", "responder_id", "revocation_reason", "response",
    "response_sha256", "pushed_sha256", "last_error"))


@dataclass
class StapleResult:
    """The outcome for one certificate: what the module returns and status views show."""

    name: str
    cert_path: str
    action: str
    status: str
    md: str | None = None
    key_type: str | None = None
    responder: str | None = None
    this_update: datetime.datetime | None = None
    next_update: datetime.datetime | None = None
    refresh_at: datetime.datetime | None = None
    fetched_at: datetime.datetime | None = None
    next_retry: datetime.datetime | None = None
    errors: int = 0
    last_error: str | None = None  # the latest failure (kept until a response is accepted)
    error: str | None = None  # what failed in this run, if anything
    output_errors: list = field(default_factory=list)  # files or haproxy updates that failed
    warnings: list = field(default_factory=list)  # things that need no action now (e.g. reload pending)
    revocation_time: datetime.datetime | None = None
    revocation_reason: str | None = None
    renew_required: bool = False
    new_key_required: bool = False
    store_file: str | None = None  # the store's .der copy, when kept (usable as nginx ssl_stapling_file)
    files: list = field(default_factory=list)  # every output file this target has
    changed_files: list = field(default_factory=list)  # files written in this run
    haproxy_updated: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.changed_files) or self.haproxy_updated

    def to_dict(self) -> dict:
        data = _shallow(self)
        data["output_errors"] = list(self.output_errors)
        data["warnings"] = list(self.warnings)
        data["files"] = list(self.files)
        data["changed_files"] = list(self.changed_files)
        for name in ("this_update", "next_update", "refresh_at", "fetched_at", "next_retry",
                     "revocation_time"):
            data[name] = to_iso(data[name])
        data["changed"] = self.changed
        return data


__all__ = ["OcspStatus", "StapleAction", "StapleState", "StapleResult", "STATE_VERSION"]
