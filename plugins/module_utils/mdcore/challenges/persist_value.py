"""The dns-persist-01 TXT record (draft-ietf-acme-dns-persist): its name, its value, and the CA's
checks of it, without any I/O.

The record is ``_validation-persist.<name> TXT "<issuer-domain-name>; accounturi=<account URL>
[; policy=wildcard][; persistUntil=<unix seconds>]"`` - an RFC 8659 issue-value. The checks are
those a CA makes (pebble 2.10's VA, the draft's section 4): among the TXT values, one whose
issuer-domain-name is one the CA offers, well formed (tag=value parameters, no tag twice, values
of printable ASCII without ';' or blanks), with ``accounturi`` equal to the account's URL,
``policy=wildcard`` (case-insensitive) when a wildcard is validated, and no ``persistUntil`` in
the past. Records for other issuers are ignored.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ChallengeError

LABEL = "_validation-persist"
POLICY_WILDCARD = "wildcard"
POLICY_NONE = "none"
MAX_ISSUERS = 10  # draft 3.1: servers send at most 10, clients reject more
MAX_NAME_OCTETS = 253
TXT_STRING_OCTETS = 255  # RFC 1035 3.3.14: one character-string

WSP = " \t"
VALUE_RE = re.compile(r"^[\x21-\x3a\x3c-\x7e]*$")  # RFC 8659 4.2 value: no ';', no blanks, ASCII
ISSUER_RE = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
INT_RE = re.compile(r"^[+-]?[0-9]{1,19}$")


def validation_name(domain: str) -> str:
    """Where the record lives for a name: a wildcard's record is the one of its base name."""
    base = domain[2:] if domain.startswith("*.") else domain
    return "%s.%s" % (LABEL, base)


def build_value(issuer: str, account_uri: str, wildcard: bool = False, persist_until: int | None = None) -> str:
    """The TXT value to publish. Raises ChallengeError when a part cannot be written into it."""
    check_issuer(issuer, "issuer domain name")
    if not account_uri or not VALUE_RE.match(account_uri):
        raise ChallengeError("the account URL %r cannot be written into a dns-persist-01 record (RFC 8659 "
                             "values are printable ASCII without ';' or blanks)" % account_uri[:200])
    parts = [issuer, "accounturi=" + account_uri]
    if wildcard:
        parts.append("policy=" + POLICY_WILDCARD)
    if persist_until is not None:
        parts.append("persistUntil=%d" % persist_until)
    return "; ".join(parts)


def zone_text(name: str, value: str) -> str:
    """A zone file line; values longer than one character-string (255 octets) are split into
    several quoted strings, which resolvers and CAs join again."""
    raw = value.encode("ascii")
    chunks = [raw[i:i + TXT_STRING_OCTETS] for i in range(0, len(raw), TXT_STRING_OCTETS)] or [b""]
    quoted = " ".join('"%s"' % c.decode().replace("\\", "\\\\").replace('"', '\\"') for c in chunks)
    return "%s. IN TXT %s" % (name, quoted)


def check_issuer(name: object, what: str) -> str:
    """An issuer domain name as the draft (3.1) wants them: lower-case A-labels, no trailing dot,
    at most 253 octets. Anything else could not be matched by the CA - or could smuggle
    parameters into the record."""
    if not isinstance(name, str) or not ISSUER_RE.match(name):
        raise ChallengeError("%s %r is not a lower-case domain name without a trailing dot"
                             % (what, name if not isinstance(name, str) else name[:80]))
    return name


def check_offered(raw: object, identifier: str) -> list[str]:
    """The challenge object's issuer domain names, checked as the draft (3.1) tells clients to."""
    where = "the CA's dns-persist-01 challenge for %s" % identifier
    if not isinstance(raw, list):
        raise ChallengeError("%s has no issuer domain names (a list expected, got %s)"
                             % (where, type(raw).__name__ if raw is not None else "none"))
    if not raw:
        raise ChallengeError("%s offers an empty list of issuer domain names" % where)
    if len(raw) > MAX_ISSUERS:
        raise ChallengeError("%s offers %d issuer domain names (at most %d are allowed): refused as malformed"
                             % (where, len(raw), MAX_ISSUERS))
    return [check_issuer(name, "%s: issuer domain name" % where) for name in raw]


def choose_issuer(configured: str | None, offered: list[str] | None, known: Iterable[str]) -> str | None:
    """The issuer domain name for the record: the configured one (which the CA must offer), else
    the first one already known (shown to the operator before) that the CA offers, else the CA's
    first. None when nothing is known yet."""
    known = list(known)
    if configured:
        if offered is not None and configured not in offered:
            raise ChallengeError("dns_persist_issuer %r is not one the CA offers (%s)"
                                 % (configured, ", ".join(offered)))
        return configured
    if offered:
        return next((name for name in known if name in offered), offered[0])
    return known[0] if known else None


@dataclass
class Parsed:
    """One TXT value read as an issue-value: its issuer, its parameters (tags lower-cased), or the
    syntax error a CA would report."""

    issuer: str
    params: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def parse_value(text: str) -> Parsed:
    issuer, _sep, rest = text.partition(";")
    parsed = Parsed(issuer.strip(WSP))
    if not _sep:
        return parsed
    for param in rest.split(";"):
        param = param.strip(WSP)
        if not param:
            parsed.error = "empty parameter or trailing ';'"
            return parsed
        tag, eq, value = param.partition("=")
        tag, value = tag.strip(WSP), value.strip(WSP)
        if not eq or not tag:
            parsed.error = "parameter %r is not tag=value" % param[:80]
            return parsed
        if tag.lower() in parsed.params:
            parsed.error = "parameter %r appears twice" % tag[:40]
            return parsed
        if not VALUE_RE.match(value):
            parsed.error = "value of %r has characters an issue-value does not allow" % tag[:40]
            return parsed
        parsed.params[tag.lower()] = value
    if "persistuntil" in parsed.params and not INT_RE.match(parsed.params["persistuntil"]):
        parsed.error = "persistUntil %r is not a number of seconds" % parsed.params["persistuntil"][:40]
    return parsed


@dataclass
class Verdict:
    """What a CA would conclude from the TXT values at the validation name."""

    ok: bool
    findings: list[str] = field(default_factory=list)  # why each record for this CA did not do

    def summary(self) -> str:
        return "; ".join(self.findings) if self.findings else "no record"


def evaluate(values: list[str], offered: list[str], account_uri: str, wildcard: bool,
             now: datetime.datetime) -> Verdict:
    verdict = Verdict(False)
    others = []
    for text in values:
        parsed = parse_value(text)
        if parsed.issuer not in offered:
            others.append(parsed.issuer or "(empty)")
            continue
        problem = _problem(parsed, account_uri, wildcard, now)
        if problem is None:
            return Verdict(True)
        verdict.findings.append("%r: %s" % (text[:300], problem))
    if others and not verdict.findings:
        verdict.findings.append("only records for other issuers (%s)" % ", ".join(sorted(set(others)))[:300])
    return verdict


def _problem(parsed: Parsed, account_uri: str, wildcard: bool, now: datetime.datetime) -> str | None:
    if parsed.error:
        return "malformed: " + parsed.error
    got = parsed.params.get("accounturi")
    if not got:
        return "no accounturi"
    if got != account_uri:
        return "accounturi is %s, not this account (%s)" % (got[:200], account_uri)
    if wildcard and parsed.params.get("policy", "").lower() != POLICY_WILDCARD:
        return "no policy=wildcard, which a wildcard certificate needs"
    until = parsed.params.get("persistuntil")
    if until is not None and now.timestamp() > int(until):
        return "persistUntil %s has passed" % _iso(int(until))
    return None


def _iso(ts: int) -> str:
    try:
        return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(ts)


__all__ = ["LABEL", "POLICY_WILDCARD", "POLICY_NONE", "validation_name", "build_value", "zone_text",
           "check_issuer", "check_offered", "choose_issuer", "parse_value", "evaluate", "Parsed", "Verdict"]
