"""staging/<md>/order.json: the renewal being built in staging, so an interrupted run resumes its
orders instead of creating new ones (CA rate limits count orders)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .fields import check_version, iso, obj, opt_str, req_str, str_list, str_map, time_map

VERSION = 1


@dataclass
class OrderState:
    """What staging is for (names, key types, CA) and each key type's order URL. ``ordering``
    marks a newOrder sent whose URL is not known yet: a run killed in between finds that order
    in the account's order list instead of creating another one."""

    md: str
    names: list[str]
    key_types: list[str]
    ca_url: str | None
    orders: dict[str, str] = field(default_factory=dict)  # key type -> order URL
    ordering: dict[str, datetime.datetime] = field(default_factory=dict)  # key type -> newOrder sent at

    def matches(self, names: list[str], key_types: list[str], ca_url: str) -> bool:
        return self.ca_url == ca_url and sorted(self.names) == sorted(names) and \
            sorted(self.key_types) == sorted(key_types)

    def to_json(self) -> dict:
        return {"version": VERSION, "md": self.md, "names": list(self.names), "key_types": list(self.key_types),
                "ca_url": self.ca_url, "orders": dict(self.orders),
                "ordering": {kt: iso(when) for kt, when in self.ordering.items()}}

    @classmethod
    def from_json(cls, doc: object) -> OrderState:
        what = "order.json"
        doc = obj(doc, what)
        check_version(doc, VERSION, what)
        return cls(md=req_str(doc, "md", what), names=str_list(doc, "names", what, required=True),
                   key_types=str_list(doc, "key_types", what, required=True), ca_url=opt_str(doc, "ca_url", what),
                   orders=str_map(doc, "orders", what), ordering=time_map(doc, "ordering", what))


__all__ = ["OrderState", "VERSION"]
