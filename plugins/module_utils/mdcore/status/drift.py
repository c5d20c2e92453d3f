"""Drift of shared certificates in the fleet report: per shared domain, the issuer's serial per key
type and, per member, whether it serves the same one (in sync), another (drift), none (missing),
or gave no status (unreachable). Read from the md_status facts' "fleet" key, defensively (data
from many machines)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..keytypes import key_spec
from ..timefmt import http_date


class MemberState:
    IN_SYNC = "in-sync"
    DRIFT = "drift"  # serves another serial than its issuer
    MISSING = "missing"  # serves no certificate of it (or does not report the domain)
    UNREACHABLE = "unreachable"  # gave no status
    UNKNOWN = "unknown"  # its issuer's serial is not known (issuer unreachable or without a set)

    BEHIND = (DRIFT, MISSING)


@dataclass
class SharedMember:
    host: str
    state: str
    serials: dict[str, str] = field(default_factory=dict)
    not_after: int | None = None
    descr: str = ""


@dataclass
class SharedCert:
    md: str
    issuer: str
    issuer_reachable: bool
    serials: dict[str, str] = field(default_factory=dict)  # the issuer's, per key type
    not_after: int | None = None
    members: list[SharedMember] = field(default_factory=list)
    note: str = ""

    @property
    def behind(self) -> list[SharedMember]:
        return [m for m in self.members if m.state in MemberState.BEHIND]


def fleet_of(md: dict) -> dict | None:
    """The md-status "fleet" key of a domain, when it names an issuer."""
    fleet = md.get("fleet")
    return fleet if isinstance(fleet, dict) and isinstance(fleet.get("issuer"), str) and fleet["issuer"] else None


def serials_of(md: dict) -> dict[str, str]:
    """Serial per key type, by our key type names also where a host's view uses mod_md's
    (status.key_names: mod_md names p256 'secp256r1'), so hosts with either setting compare."""
    cert = md.get("cert") if isinstance(md.get("cert"), dict) else {}
    return {_our_name(kt): one["serial"] for kt, one in cert.items()
            if kt != "valid" and isinstance(one, dict) and isinstance(one.get("serial"), str)}


def _our_name(key: str) -> str:
    try:
        return key_spec(key).name
    except ConfigError:
        return key


def not_after_of(md: dict) -> int | None:
    cert = md.get("cert") if isinstance(md.get("cert"), dict) else {}
    valid = cert.get("valid") if isinstance(cert.get("valid"), dict) else {}
    until = valid.get("until-unix")
    return until if isinstance(until, int) and not isinstance(until, bool) else None


def serial_text(serials: dict[str, str]) -> str:
    return ", ".join("%s %s" % (kt, serials[kt]) for kt in sorted(serials)) or "none"


def _date(unix: int | None) -> str:
    if unix is None:
        return "?"
    return http_date(datetime.datetime.fromtimestamp(unix, datetime.timezone.utc))


def reachable_domains(statuses: dict) -> dict[str, list[dict]]:
    out = {}
    for host, facts in statuses.items():
        mds = facts.get("managed-domains") if isinstance(facts, dict) else None
        if isinstance(mds, list):
            out[str(host)] = [md for md in mds if isinstance(md, dict)]
    return out


def shared_certs(statuses: dict) -> list[SharedCert]:
    """Every shared domain any host reports, with its members' state; drift first."""
    reachable = reachable_domains(statuses)
    by_name: dict[str, dict[str, dict]] = {}  # md -> host -> its md-status (whatever its fleet key says)
    groups: dict[tuple[str, str], dict] = {}
    for host, mds in reachable.items():
        for md in mds:
            name = str(md.get("name") or "?")
            by_name.setdefault(name, {})[host] = md
            fleet = fleet_of(md)
            if fleet is None:
                continue
            group = groups.setdefault((name, fleet["issuer"]), {"declared": set(), "hosts": set()})
            group["hosts"].add(host)
            members = fleet.get("members") if isinstance(fleet.get("members"), list) else []
            group["declared"].update(m for m in members if isinstance(m, str))
    out = [_shared(md, issuer, group, by_name.get(md, {}), reachable, statuses)
           for (md, issuer), group in sorted(groups.items())]
    out.sort(key=lambda s: (not s.behind, s.md, s.issuer))
    return out


def _shared(md: str, issuer: str, group: dict, docs: dict[str, dict], reachable: dict,
            statuses: dict) -> SharedCert:
    issuer_doc = docs.get(issuer)
    shared = SharedCert(md, issuer, issuer in reachable)
    if issuer_doc is not None:
        shared.serials, shared.not_after = serials_of(issuer_doc), not_after_of(issuer_doc)
    for host in sorted((group["declared"] | group["hosts"]) - {issuer}):
        if host not in statuses:
            continue  # not in this report (e.g. --limit): nothing to say about it
        shared.members.append(_member(host, docs.get(host), host in reachable, shared))
    shared.note = _note(shared, issuer_doc)
    return shared


def _member(host: str, doc: dict | None, reachable: bool, shared: SharedCert) -> SharedMember:
    if not reachable:
        return SharedMember(host, MemberState.UNREACHABLE, descr="gave no status")
    if doc is None:
        return SharedMember(host, MemberState.MISSING if shared.serials else MemberState.UNKNOWN,
                            descr="does not report %s: its issuer %s serves %s"
                            % (shared.md, shared.issuer, serial_text(shared.serials)))
    member = SharedMember(host, MemberState.UNKNOWN, serials_of(doc), not_after_of(doc))
    if not shared.serials:
        member.descr = "serves %s; the issuer's serial is not known" % serial_text(member.serials)
    elif not member.serials:
        member.state = MemberState.MISSING
        member.descr = "serves no copy of %s: its issuer %s serves %s" % (
            shared.md, shared.issuer, serial_text(shared.serials))
    elif member.serials == shared.serials:
        member.state, member.descr = MemberState.IN_SYNC, "serves its issuer's %s" % serial_text(member.serials)
    else:
        member.state = MemberState.DRIFT
        member.descr = "serves %s (until %s), its issuer %s serves %s: distribute it" % (
            serial_text(member.serials), _date(member.not_after), shared.issuer, serial_text(shared.serials))
    return member


def _note(shared: SharedCert, issuer_doc: dict | None) -> str:
    if not shared.issuer_reachable:
        served = sorted({serial_text(m.serials) for m in shared.members if m.serials})
        until = min([m.not_after for m in shared.members if m.not_after is not None], default=None)
        if not served:
            return "issuer %s unreachable; no member serves %s" % (shared.issuer, shared.md)
        return "issuer %s unreachable: members keep serving serial %s until %s" % (
            shared.issuer, " / ".join(served), _date(until))
    if issuer_doc is None:
        return "issuer %s does not report %s" % (shared.issuer, shared.md)
    if not shared.serials:
        return "issuer %s has no certificate for %s yet" % (shared.issuer, shared.md)
    synced = sum(1 for m in shared.members if m.state == MemberState.IN_SYNC)
    count = len(shared.members)
    return "%d of %d member%s serve the issuer's %s" % (synced, count, "" if count == 1 else "s",
                                                        serial_text(shared.serials))


__all__ = ["MemberState", "SharedMember", "SharedCert", "shared_certs", "fleet_of", "serials_of", "serial_text",
           "reachable_domains"]
