"""RFC 8555 resources as small typed classes, with their status values as constants."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MdError
from .problems import Problem


class MalformedDocument(MdError):
    """A CA's order, authorization or challenge whose fields are not of RFC 8555's types (a list
    where a string must be, identifiers that are no objects): one error naming the field, never a
    TypeError further down."""


def _kind(value: object) -> str:
    return "null" if value is None else {bool: "a boolean", int: "a number", float: "a number", str: "a string",
                                         list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _text(doc: dict, key: str, what: str, optional: bool = False) -> str | None:
    """A string field ("" when absent; None too where ``optional``)."""
    value = doc.get(key)
    if value is None:
        return None if optional else ""
    if not isinstance(value, str):
        raise MalformedDocument("CA sent %s whose '%s' is %s, not a string" % (what, key, _kind(value)))
    return value


def _texts(doc: dict, key: str, what: str) -> list[str]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedDocument("CA sent %s whose '%s' is %s, not a list of strings" % (what, key, _kind(value)))
    return list(value)


def _identifier(value: object, what: str) -> Identifier:
    if not isinstance(value, dict):
        raise MalformedDocument("CA sent %s with an identifier that is %s, not an object" % (what, _kind(value)))
    return Identifier(_text(value, "type", what) or "", _text(value, "value", what) or "")


class Status:
    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"


ORDER_DONE = frozenset({Status.VALID, Status.INVALID})
FINAL_AUTHZ = frozenset({Status.VALID, Status.INVALID, Status.DEACTIVATED, Status.EXPIRED, Status.REVOKED})


class ChallengeType:
    HTTP01 = "http-01"
    DNS01 = "dns-01"
    TLSALPN01 = "tls-alpn-01"
    DNSPERSIST01 = "dns-persist-01"  # draft-ietf-acme-dns-persist


@dataclass
class Identifier:
    type: str
    value: str

    @classmethod
    def for_name(cls, name: str) -> Identifier:
        import ipaddress

        try:
            ipaddress.ip_address(name)
            return cls("ip", name)
        except ValueError:
            return cls("dns", name)

    def to_json(self) -> dict:
        return {"type": self.type, "value": self.value}


@dataclass
class Challenge:
    type: str
    url: str
    status: str
    token: str = ""
    error: Problem | None = None
    # dns-persist-01, as the CA sent them (checked by challenges/persist_value.py): the issuer
    # domain names ("issuer-domain-names" up to draft -01 and in pebble 2.10, "issuerDomainNames"
    # since -02) and the accounturi the record must name (pebble 2.10.1)
    issuer_domain_names: object = None
    account_uri: object = None

    @classmethod
    def from_json(cls, doc: dict) -> Challenge:
        what = "a challenge"
        err = doc.get("error")
        issuers = doc.get("issuerDomainNames", doc.get("issuer-domain-names"))  # checked by persist_value.py
        return cls(_text(doc, "type", what) or "", _text(doc, "url", what) or "", _text(doc, "status", what) or "",
                   _text(doc, "token", what) or "", Problem.from_json(err) if isinstance(err, dict) else None,
                   issuers, doc.get("accounturi"))


@dataclass
class Authorization:
    url: str
    status: str
    identifier: Identifier
    wildcard: bool = False
    challenges: list[Challenge] = field(default_factory=list)

    @classmethod
    def from_json(cls, url: str, doc: dict) -> Authorization:
        what = "the authorization %s" % url
        chals = doc.get("challenges")
        # a CA's entry that is no object cannot be answered: skipped, like a type we do not know
        chals = [Challenge.from_json(c) for c in chals if isinstance(c, dict)] if isinstance(chals, list) else []
        return cls(url, _text(doc, "status", what) or "", _identifier(doc.get("identifier") or {}, what),
                   doc.get("wildcard") is True, chals)

    @property
    def name(self) -> str:
        return ("*." if self.wildcard else "") + self.identifier.value

    def challenge(self, ctype: str) -> Challenge | None:
        return next((c for c in self.challenges if c.type == ctype), None)

    def failure(self) -> Problem | None:
        for chal in self.challenges:
            if chal.error is not None:
                return chal.error
        return None


@dataclass
class Order:
    url: str
    status: str
    identifiers: list[Identifier]
    authorizations: list[str]
    finalize: str
    certificate: str | None = None
    expires: str | None = None
    error: Problem | None = None

    @classmethod
    def from_json(cls, url: str, doc: dict) -> Order:
        what = "the order %s" % url
        err = doc.get("error")
        identifiers = doc.get("identifiers")
        if identifiers is not None and not isinstance(identifiers, list):
            raise MalformedDocument("CA sent %s whose 'identifiers' is %s, not a list" % (what, _kind(identifiers)))
        return cls(
            url=url, status=_text(doc, "status", what) or "",
            identifiers=[_identifier(i, what) for i in identifiers or []],
            authorizations=_texts(doc, "authorizations", what), finalize=_text(doc, "finalize", what) or "",
            certificate=_text(doc, "certificate", what, optional=True),
            expires=_text(doc, "expires", what, optional=True),
            error=Problem.from_json(err) if isinstance(err, dict) else None,
        )


@dataclass
class AccountRef:
    """An account registered at a CA: its URL (the JWS kid) and what we know of it."""

    url: str
    ca_url: str
    contact: list[str] = field(default_factory=list)
    eab_kid: str | None = None
    status: str = Status.VALID
