"""domains/<md>/set.json: one complete certificate set, written last when a set is sealed, never
changed once archived. Status views, plans, stapling, the web server glue and fleet exports all
read it through :class:`CertSet`."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field, replace

from .fields import (
    FormatError,
    check_version,
    iso,
    obj,
    obj_map,
    opt_str,
    opt_time,
    req_str,
    req_time,
    str_list,
    str_map,
)

VERSION = 1
KEY_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # key types are folder names


@dataclass(frozen=True)
class CertInfo:
    """Facts of one certificate of the set (what status shows without parsing a certificate)."""

    serial: str  # hex, as mod_md
    sha256_fingerprint: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    issuer: str | None = None
    subject: str | None = None
    names: list[str] = field(default_factory=list)
    ocsp_url: str | None = None
    ari_cert_id: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its bytes at activation

    def with_files(self, files: dict[str, str]) -> CertInfo:
        return replace(self, files=dict(files))

    def to_json(self) -> dict:
        doc = {"serial": self.serial, "sha256_fingerprint": self.sha256_fingerprint, "issuer": self.issuer,
               "subject": self.subject, "names": list(self.names), "not_before": iso(self.not_before),
               "not_after": iso(self.not_after), "ocsp_url": self.ocsp_url, "ari_cert_id": self.ari_cert_id}
        if self.files:
            doc["files"] = dict(self.files)
        return doc

    @classmethod
    def from_json(cls, doc: object, what: str = "certificate") -> CertInfo:
        doc = obj(doc, what)
        return cls(serial=req_str(doc, "serial", what), sha256_fingerprint=req_str(doc, "sha256_fingerprint", what),
                   not_before=req_time(doc, "not_before", what), not_after=req_time(doc, "not_after", what),
                   issuer=opt_str(doc, "issuer", what), subject=opt_str(doc, "subject", what),
                   names=str_list(doc, "names", what), ocsp_url=opt_str(doc, "ocsp_url", what),
                   ari_cert_id=opt_str(doc, "ari_cert_id", what), files=str_map(doc, "files", what))


@dataclass(frozen=True)
class Imported:
    """Where a member's set came from (a fleet import): the issuer host and when."""

    source: str
    at: datetime.datetime
    created: str | None = None  # the bundle's creation time, as the issuer wrote it

    def to_json(self) -> dict:
        return {"from": self.source, "at": iso(self.at), "created": self.created}

    @classmethod
    def from_json(cls, doc: object) -> Imported:
        doc = obj(doc, "imported")
        return cls(req_str(doc, "from", "imported"), req_time(doc, "at", "imported"),
                   opt_str(doc, "created", "imported"))


@dataclass(frozen=True)
class CertSet:
    """set.json: names, key types, the CA and account, the orders and one CertInfo per key type."""

    names: list[str]
    key_types: list[str]
    certs: dict[str, CertInfo]
    md: str | None = None
    ca_url: str | None = None
    account_url: str | None = None
    created: datetime.datetime | None = None
    orders: dict[str, str] = field(default_factory=dict)  # key type -> order URL
    imported: Imported | None = None
    set_id: str | None = None  # given at activation: tells two sets apart (created may repeat)

    def cert(self, key_type: str) -> CertInfo | None:
        return self.certs.get(key_type)

    def lifetimes(self) -> list[tuple[datetime.datetime, datetime.datetime]]:
        return [(c.not_before, c.not_after) for c in self.certs.values()]

    def same_names(self, names: list[str]) -> bool:
        return sorted(self.names) == sorted(names)

    def same_key_types(self, key_types: list[str]) -> bool:
        return set(self.key_types) == set(key_types)  # sets: reordering is no change

    def serials(self) -> dict[str, str]:
        return {kt: c.serial for kt, c in self.certs.items()}

    def with_changes(self, **changes) -> CertSet:
        return replace(self, **changes)

    def to_json(self) -> dict:
        doc = {"version": VERSION, "md": self.md, "names": list(self.names), "key_types": list(self.key_types),
               "ca_url": self.ca_url, "account_url": self.account_url, "created": iso(self.created),
               "orders": dict(self.orders), "certs": {kt: c.to_json() for kt, c in self.certs.items()}}
        if self.imported is not None:
            doc["imported"] = self.imported.to_json()
        if self.set_id is not None:
            doc["set_id"] = self.set_id
        return doc

    @classmethod
    def from_json(cls, doc: object) -> CertSet:
        what = "set.json"
        doc = obj(doc, what)
        check_version(doc, VERSION, what)
        key_types = str_list(doc, "key_types", what, required=True)
        bad = [kt for kt in key_types if not KEY_TYPE_RE.match(kt)]
        if bad or not key_types or len(set(key_types)) != len(key_types):
            raise FormatError("%s: 'key_types' must be distinct key type names, not %r" % (what, key_types))
        raw = obj_map(doc, "certs", what)
        if set(raw) != set(key_types):
            raise FormatError("%s: 'certs' must hold exactly the key types %s, not %s"
                              % (what, ", ".join(key_types), ", ".join(sorted(raw)) or "none"))
        certs = {kt: CertInfo.from_json(raw[kt], "%s: certs.%s" % (what, kt)) for kt in key_types}
        imported = doc.get("imported")
        return cls(names=str_list(doc, "names", what, required=True), key_types=key_types, certs=certs,
                   md=opt_str(doc, "md", what), ca_url=opt_str(doc, "ca_url", what),
                   account_url=opt_str(doc, "account_url", what), created=opt_time(doc, "created", what),
                   orders=str_map(doc, "orders", what),
                   imported=Imported.from_json(imported) if imported is not None else None,
                   set_id=opt_str(doc, "set_id", what))


__all__ = ["CertSet", "CertInfo", "Imported", "VERSION"]
