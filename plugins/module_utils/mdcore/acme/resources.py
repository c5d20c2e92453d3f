"""RFC 8555 resources as small typed classes, with their status values as constants."""

from __future__ import annotations

from dataclasses import dataclass, field

from .problems import Problem


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
        err = doc.get("error")
        issuers = doc.get("issuerDomainNames", doc.get("issuer-domain-names"))
        return cls(doc.get("type", ""), doc.get("url", ""), doc.get("status", ""), doc.get("token", ""),
                   Problem.from_json(err) if isinstance(err, dict) else None, issuers, doc.get("accounturi"))


@dataclass
class Authorization:
    url: str
    status: str
    identifier: Identifier
    wildcard: bool = False
    challenges: list[Challenge] = field(default_factory=list)

    @classmethod
    def from_json(cls, url: str, doc: dict) -> Authorization:
        ident = doc.get("identifier")
        ident = ident if isinstance(ident, dict) else {}
        chals = doc.get("challenges")
        # a CA's entry that is no object cannot be answered: skipped, like a type we do not know
        chals = [Challenge.from_json(c) for c in chals if isinstance(c, dict)] if isinstance(chals, list) else []
        return cls(url, doc.get("status", ""), Identifier(ident.get("type", ""), ident.get("value", "")),
                   bool(doc.get("wildcard")), chals)

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
        err = doc.get("error")
        return cls(
            url=url, status=doc.get("status", ""),
            identifiers=[Identifier(i.get("type", ""), i.get("value", "")) for i in doc.get("identifiers", [])],
            authorizations=list(doc.get("authorizations", [])), finalize=doc.get("finalize", ""),
            certificate=doc.get("certificate"), expires=doc.get("expires"),
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
