"""A managed domain's renewal job: last run, errors, backoff and a short log (jobs/<md>.json)."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field

from .clock import from_iso, to_iso
from .fsutil import read_json, write_json

LOG_KEEP = 20


@dataclass
class JobError:
    message: str
    problem_type: str | None = None
    detail: str | None = None
    retry_hot: bool = True


@dataclass
class JobState:
    md: str
    last_run: str | None = None
    last_success: str | None = None
    errors: int = 0
    next_retry: str | None = None
    last_error: JobError | None = None
    log: list[dict] = field(default_factory=list)
    notified: dict = field(default_factory=dict)  # event -> ISO time of last notification
    config: dict = field(default_factory=dict)  # non-secret snapshot of the md's config, for status views
    ari: dict = field(default_factory=dict)  # key type -> ari.AriState as dict

    @classmethod
    def load(cls, path: str, md: str) -> JobState:
        doc = read_json(path) or {}
        err = doc.get("last_error")
        return cls(md=md, last_run=doc.get("last_run"), last_success=doc.get("last_success"),
                   errors=int(doc.get("errors", 0)), next_retry=doc.get("next_retry"),
                   last_error=JobError(**err) if isinstance(err, dict) else None,
                   log=list(doc.get("log", [])), notified=dict(doc.get("notified", {})),
                   config=dict(doc.get("config", {})), ari=dict(doc.get("ari", {})))

    def save(self, path: str) -> None:
        write_json(path, asdict(self))

    def add_log(self, now: datetime.datetime, kind: str, text: str) -> None:
        self.log.append({"when": to_iso(now), "type": kind, "detail": text})
        del self.log[:-LOG_KEEP]

    def retry_at(self) -> datetime.datetime | None:
        return from_iso(self.next_retry)
