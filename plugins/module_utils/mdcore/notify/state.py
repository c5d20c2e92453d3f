"""What the message command was told, per managed domain: rate limits, failures, retries.

Kept in <store>/events/<md>.json, a file of its own so it never races the renewal's writes of
jobs/<md>.json. Certificates that are not managed domains (monitored or stapled files, whose
"md" is a path) get '@file-<sha256 of the name>.json': '@' cannot start a managed domain name.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass, field

from ..clock import to_iso
from ..errors import StoreError
from ..fsutil import ensure_dir, read_json, write_json
from ..state.fields import CorruptStateError
from ..storeread import StoreReader, check_md_name
from ..timefmt import parse_iso

EVENTS_DIR = "events"
STATE_VERSION = 1


def state_path(store: StoreReader, md: str) -> str:
    try:
        stem = check_md_name(md)
    except StoreError:
        stem = "@file-" + hashlib.sha256(md.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return store.path(EVENTS_DIR, stem + ".json")


@dataclass
class Attempt:
    """One run of the command: what it was told and how it ended (never its output)."""

    event: str
    at: datetime.datetime
    ok: bool
    exit_code: int | None = None
    timed_out: bool = False
    error: str | None = None  # short text: 'exit status 3', 'timed out after 30s', 'cannot run: ...'

    def to_json(self) -> dict:
        return {"event": self.event, "at": to_iso(self.at), "ok": self.ok, "exit_code": self.exit_code,
                "timed_out": self.timed_out, "error": self.error}

    @classmethod
    def from_json(cls, doc: object) -> Attempt | None:
        if not isinstance(doc, dict) or not isinstance(doc.get("event"), str):
            return None
        at = parse_iso(doc.get("at"))
        if at is None:
            return None
        code = doc.get("exit_code")
        error = doc.get("error") if isinstance(doc.get("error"), str) else None
        return cls(doc["event"], at, bool(doc.get("ok")), code if isinstance(code, int) else None,
                   bool(doc.get("timed_out")), error)


@dataclass
class PendingEvent:
    """An event that must reach the command (``renewed``): retried on later runs until it does."""

    event: str
    since: datetime.datetime
    details: dict = field(default_factory=dict)
    attempts: int = 0

    def to_json(self) -> dict:
        return {"event": self.event, "since": to_iso(self.since), "details": self.details,
                "attempts": self.attempts}

    @classmethod
    def from_json(cls, doc: object) -> PendingEvent | None:
        if not isinstance(doc, dict) or not isinstance(doc.get("event"), str):
            return None
        since = parse_iso(doc.get("since"))
        if since is None:
            return None
        details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
        return cls(doc["event"], since, details, int(doc.get("attempts") or 0))


def _times(doc: object) -> dict[str, datetime.datetime]:
    out: dict[str, datetime.datetime] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            moment = parse_iso(value)
            if isinstance(key, str) and moment is not None:
                out[key] = moment
    return out


@dataclass
class NotifyState:
    md: str
    last_attempt: dict[str, datetime.datetime] = field(default_factory=dict)  # event -> when (rate limits)
    last_success: dict[str, datetime.datetime] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)  # event -> rate-limited since the last attempt
    failures: int = 0  # failed runs of the command in a row
    last_failure: Attempt | None = None
    last_postponed: Attempt | None = None  # the latest 'renewing' veto (non-zero exit)
    pending: list[PendingEvent] = field(default_factory=list)

    @classmethod
    def load(cls, store: StoreReader, md: str, repair: bool = False) -> NotifyState:
        """The bookkeeping of ``md``; one that does not read starts afresh (worst case one extra
        message) and, with ``repair`` (a locked writer), is set aside as <file>.corrupt-<time>."""
        path = state_path(store, md)
        try:
            doc = read_json(path)
        except (OSError, ValueError, RecursionError) as exc:
            doc = exc
        if not isinstance(doc, dict):
            if repair and doc is not None and os.path.lexists(path):
                reason = "not JSON" if isinstance(doc, Exception) else "not a JSON object"
                store.set_aside_corrupt(CorruptStateError(path, reason))
            return cls(md)
        try:
            return cls._from_doc(md, doc)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # right JSON, wrong types
            if repair:
                store.set_aside_corrupt(CorruptStateError(path, "%s: %s" % (type(exc).__name__, exc)))
            return cls(md)

    @classmethod
    def _from_doc(cls, md: str, doc: dict) -> NotifyState:
        suppressed = doc.get("suppressed") if isinstance(doc.get("suppressed"), dict) else {}
        pending = [p for p in (PendingEvent.from_json(x) for x in doc.get("pending") or []) if p is not None]
        return cls(md, _times(doc.get("last_attempt")), _times(doc.get("last_success")),
                   {k: int(v) for k, v in suppressed.items() if isinstance(v, int)},
                   int(doc.get("failures") or 0), Attempt.from_json(doc.get("last_failure")),
                   Attempt.from_json(doc.get("last_postponed")), pending)

    def save(self, store: StoreReader) -> None:
        path = state_path(store, self.md)
        ensure_dir(os.path.dirname(path), durable=True)  # its name too: the state is written durably
        write_json(path, {
            "version": STATE_VERSION, "md": self.md,
            "last_attempt": {k: to_iso(v) for k, v in sorted(self.last_attempt.items())},
            "last_success": {k: to_iso(v) for k, v in sorted(self.last_success.items())},
            "suppressed": dict(sorted(self.suppressed.items())), "failures": self.failures,
            "last_failure": self.last_failure.to_json() if self.last_failure else None,
            "last_postponed": self.last_postponed.to_json() if self.last_postponed else None,
            "pending": [p.to_json() for p in self.pending],
        })


def all_states(store: StoreReader) -> list[NotifyState]:
    """Every domain's (and file's) bookkeeping in the store."""
    try:
        entries = sorted(os.listdir(store.path(EVENTS_DIR)))
    except OSError:
        return []
    out = []
    for entry in entries:
        if not entry.endswith(".json") or entry.startswith("."):
            continue
        try:
            doc = read_json(store.path(EVENTS_DIR, entry))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("md"), str) and doc["md"]:
            out.append(NotifyState.load(store, doc["md"]))
    return out


__all__ = ["NotifyState", "Attempt", "PendingEvent", "state_path", "all_states", "EVENTS_DIR"]
