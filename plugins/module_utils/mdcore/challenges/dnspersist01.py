"""dns-persist-01 (draft-ietf-acme-dns-persist): the TXT record at ``_validation-persist.<name>``
is published once by the operator and names the CA and the ACME account, so answering the
challenge writes nothing and needs no DNS credentials.

Before the CA is asked to validate (a failed validation counts against the CA's limits), the
record is looked up where dnspython is importable and checked as the CA would check it; a missing
or wrong record fails with the exact record to publish. When the CA refuses anyway (pre-check off,
no dnspython, another view of DNS), its problem comes with the same record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .. import dnsquery
from ..acme.resources import ChallengeType
from ..clock import Clock, Deadline
from ..errors import ChallengeError
from .base import ChallengeTask, Solver
from .persist_value import (
    POLICY_NONE,
    POLICY_WILDCARD,
    build_value,
    check_offered,
    choose_issuer,
    evaluate,
    validation_name,
    zone_text,
)

LOOKUP_SECONDS = 10.0  # one TXT lookup of the pre-check


@dataclass(frozen=True)
class PersistOptions:
    policy: str = POLICY_NONE  # POLICY_WILDCARD: the record also covers *.<name> (and subdomains)
    persist_until: int | None = None  # unix seconds after which the CA must not use the record
    issuer: str | None = None  # the issuer domain name to use, if the CA offers several
    precheck: bool = True
    resolvers: tuple[dnsquery.Nameserver, ...] = ()  # () = the host's resolv.conf

    @property
    def wildcard(self) -> bool:
        return self.policy == POLICY_WILDCARD


@dataclass(frozen=True)
class ExpectedRecord:
    """The record one authorization needs, with what the CA offered for it."""

    identifier: str
    wildcard: bool  # the authorization is for the wildcard
    name: str
    value: str
    account_uri: str
    offered: tuple[str, ...]

    @property
    def zone(self) -> str:
        return zone_text(self.name, self.value)


def expected_record(task: ChallengeTask, options: PersistOptions, known_issuers: Iterable[str]) -> ExpectedRecord:
    """The record for ``task`` from its challenge object; raises ChallengeError for a challenge
    object that is malformed or that names another account."""
    offered = check_offered(task.issuer_domain_names, task.domain)
    account_uri = task.account_url
    if task.challenge_account_uri is not None and task.challenge_account_uri != account_uri:
        raise ChallengeError("the CA's dns-persist-01 challenge for %s names accounturi %r, but the order is "
                             "made by account %s" % (task.domain, str(task.challenge_account_uri)[:200], account_uri))
    issuer = choose_issuer(options.issuer, offered, known_issuers) or offered[0]  # offered is never empty
    value = build_value(issuer, account_uri, options.wildcard, options.persist_until)
    return ExpectedRecord(task.domain, task.wildcard, validation_name(task.domain), value, account_uri,
                          tuple(offered))


def _lookup(name: str, servers: list, timeout: float) -> list[str]:
    return dnsquery.txt_values(name, servers, timeout)  # looked up at call time: tests replace it


class DnsPersistSolver(Solver):
    challenge_type = ChallengeType.DNSPERSIST01

    def __init__(self, options: PersistOptions, clock: Clock, known_issuers: Iterable[str] = (),
                 on_offered: Callable[[list[str]], None] | None = None,
                 lookup: Callable[[str, list, float], list[str]] | None = None) -> None:
        self.options = options
        self.clock = clock
        self.known_issuers = list(known_issuers)
        self.on_offered = on_offered or (lambda _names: None)
        self.lookup = lookup or _lookup
        self._records: dict[tuple[str, bool], ExpectedRecord] = {}
        self._unchecked: list[ExpectedRecord] = []

    def setup(self, task: ChallengeTask) -> None:
        record = expected_record(task, self.options, self.known_issuers)
        if task.wildcard and not self.options.wildcard:
            raise ChallengeError("%s needs a dns-persist-01 record with policy=wildcard: set dns_persist_policy: "
                                 "wildcard" % ("*." + task.domain))
        self.on_offered(list(record.offered))
        self._records[(task.domain, task.wildcard)] = record
        self._unchecked.append(record)

    def ready(self, deadline: Deadline | None = None) -> None:
        """Check every record of the order before the CA is asked to validate any (each lookup
        within the order's deadline, when given)."""
        pending, self._unchecked = self._unchecked, []
        if not pending or not self.precheck_runs:
            return
        servers = list(self.options.resolvers)
        problems = []
        for record in pending:
            try:
                values = self.lookup(record.name, servers,
                                     deadline.bounded(LOOKUP_SECONDS) if deadline else LOOKUP_SECONDS)
            except dnsquery.DnsLookupError as exc:
                raise ChallengeError("dns-persist-01 pre-check for %s could not look up its record: %s; the CA "
                                     "was not asked to validate (dns_persist_precheck: false leaves the check "
                                     "to the CA)" % (record.identifier, exc)) from None
            verdict = evaluate(values, list(record.offered), record.account_uri, record.wildcard, self.clock.now())
            if not verdict.ok:
                found = "no TXT record" if not values else verdict.summary()
                problems.append("%s (%s): publish %s" % (record.name, found, record.zone))
        if problems:
            raise ChallengeError("dns-persist-01 record not in place, so the CA was not asked to validate: %s "
                                 "(looked up at %s)" % ("; ".join(problems), dnsquery.describe_servers(servers)))

    @property
    def precheck_runs(self) -> bool:
        return self.options.precheck and dnsquery.available()

    def teardown(self, task: ChallengeTask) -> None:
        self._records.pop((task.domain, task.wildcard), None)  # the record itself stays: it is persistent

    def failure_hint(self, task: ChallengeTask) -> str:
        record = self._records.get((task.domain, task.wildcard))
        if record is None:
            return ""
        why = ""
        if not self.options.precheck:
            why = " (the pre-check is off: dns_persist_precheck is false)"
        elif not dnsquery.available():
            why = " (no pre-check: %s is not installed)" % dnsquery.DNSPYTHON_LABEL
        return "the CA expects %s%s" % (record.zone, why)


__all__ = ["DnsPersistSolver", "PersistOptions", "ExpectedRecord", "expected_record", "LOOKUP_SECONDS"]
