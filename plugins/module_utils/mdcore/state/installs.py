"""installs/<md>.json: an activated set the web server has not loaded yet, and the events of its
activation that are still to go out. Written before the set is sealed, so a run killed anywhere
after it leaves the entry behind: every later run reloads (after the config test) until a reload
succeeds, and fires what the killed run could not (``renewed``, then ``installed``)."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

from .fields import check_version, iso, obj, obj_map, req_str, req_time

VERSION = 1
INSTALLS_DIR = "installs"


@dataclass
class PendingInstall:
    md: str
    set_id: str  # the set this entry is for (CertSet.set_id)
    since: datetime.datetime
    events: dict[str, dict] = field(default_factory=dict)  # event name -> its details, still to fire

    def to_json(self) -> dict:
        return {"version": VERSION, "md": self.md, "set_id": self.set_id, "since": iso(self.since),
                "events": {k: dict(v) for k, v in self.events.items()}}

    @classmethod
    def from_json(cls, doc: object) -> PendingInstall:
        what = "pending install"
        doc = obj(doc, what)
        check_version(doc, VERSION, what)
        events = obj_map(doc, "events", what)
        for name, details in events.items():
            obj(details, "%s: events.%s" % (what, name))
        return cls(req_str(doc, "md", what), req_str(doc, "set_id", what), req_time(doc, "since", what),
                   {k: dict(v) for k, v in events.items()})


def install_path(root: str, md: str) -> str:
    return os.path.join(root, INSTALLS_DIR, md + ".json")


__all__ = ["PendingInstall", "INSTALLS_DIR", "install_path", "VERSION"]
