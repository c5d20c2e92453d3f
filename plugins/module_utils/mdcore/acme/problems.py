"""RFC 7807 problem documents from the CA, turned into one readable error."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MdError

ACME_NS = "urn:ietf:params:acme:error:"

# Problems the CA raises because of what we asked for: retrying unchanged input soon is pointless.
INPUT_PROBLEMS = frozenset(
    ACME_NS + name
    for name in (
        "badCSR", "badPublicKey", "badRevocationReason", "badSignatureAlgorithm", "caa",
        "externalAccountRequired", "invalidContact", "malformed", "rejectedIdentifier",
        "unsupportedContact", "unsupportedIdentifier", "userActionRequired", "invalidProfile",
        "unauthorized", "accountDoesNotExist",
    )
)
BAD_NONCE = ACME_NS + "badNonce"
ORDER_NOT_READY = ACME_NS + "orderNotReady"
RATE_LIMITED = ACME_NS + "rateLimited"
ALREADY_REPLACED = ACME_NS + "alreadyReplaced"


@dataclass
class Problem:
    type: str
    detail: str = ""
    status: int | None = None
    identifier: str | None = None
    subproblems: list[Problem] = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: dict, status: int | None = None) -> Problem:
        """Whatever the CA sent (a problem describes a failure: it is read as far as it reads);
        ``status``: the HTTP status, when the document has no number of its own."""
        ident = doc.get("identifier") or None
        code = doc.get("status")
        subs = doc.get("subproblems")
        return cls(
            type=str(doc.get("type") or "about:blank"),
            detail=str(doc.get("detail") or ""),
            status=code if isinstance(code, int) and not isinstance(code, bool) else status,
            identifier=("%s:%s" % (ident.get("type"), ident.get("value"))) if isinstance(ident, dict) else None,
            subproblems=[cls.from_json(s) for s in subs if isinstance(s, dict)] if isinstance(subs, list) else [],
        )

    @property
    def short_type(self) -> str:
        return self.type[len(ACME_NS):] if self.type.startswith(ACME_NS) else self.type

    def describe(self) -> str:
        """One line (a CA's detail may hold line breaks: every error of a run is one line)."""
        text = "%s: %s" % (self.short_type, self.detail or "(no detail)")
        if self.identifier:
            text += " [%s]" % self.identifier
        if self.subproblems:
            text += " (" + "; ".join(s.describe() for s in self.subproblems) + ")"
        return " ".join(text.split())

    def to_dict(self) -> dict:
        return {
            "type": self.type, "detail": self.detail, "status": self.status,
            "identifier": self.identifier, "subproblems": [s.to_dict() for s in self.subproblems],
        }


class AcmeProblemError(MdError):
    """The CA answered with a problem document."""

    def __init__(self, problem: Problem, context: str, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__("CA refused %s: %s%s" % (context, problem.describe(), ("; " + hint) if hint else ""),
                         retry_after=retry_after)
        self.problem = problem
        self.retry_hot = problem.type not in INPUT_PROBLEMS and problem.type != RATE_LIMITED


class OrderDeadError(AcmeProblemError):
    """The order can not succeed any more (an authorization or the order itself is invalid):
    it must not be resumed; the next attempt needs a new order."""
