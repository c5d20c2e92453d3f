# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who needs what in a distribution run, from the hosts' `mdfleet fleet-state --json` (public
identities only: serials, fingerprints, account key thumbprints; never a key).

A member needs a set when its active certificates' fingerprints differ from its issuer's (the engine
refuses an older bundle itself, so a member that is newer is reported, never downgraded); a host whose
accounts another host holds needs an account when its key thumbprint for that CA differs from the
holder's. Each set or account is exported once per run, whatever the number of members.
"""

from __future__ import annotations

import json

KIND_SET, KIND_ACCOUNT = "set", "account"
# Why a member got nothing from its source this run (the report's words).
WAIT_NO_SET = "the issuer has no certificate set for it yet"
WAIT_KEY_TYPES = "the issuer's set lacks key types %s"
WAIT_NO_ACCOUNT = "the account holder has no account for this CA yet"
UNREACHABLE = "gave no fleet state (unreachable, or mdfleet is not deployed there)"


def _fingerprints(state_set: dict, key_types: list[str]) -> dict:
    certs = state_set.get("certs") or {}
    return {kt: (certs.get(kt) or {}).get("sha256_fingerprint") for kt in key_types}


def export_key(kind: str, source: str, what: str) -> str:
    return "%s:%s:%s" % (kind, source, what)


def _plan_sets(host: str, state: dict, sources: dict, plan: dict) -> None:
    for md, mine in sorted((state.get("sets") or {}).items()):
        if mine.get("issued_here"):
            continue
        issuer = mine.get("issuer")
        entry = {"kind": KIND_SET, "md": md, "source": issuer}
        theirs_state = sources.get(issuer)
        if not isinstance(theirs_state, dict):
            plan["waiting"].append(dict(entry, host=host, why="issuer %s %s" % (issuer, UNREACHABLE),
                                        serving=_serials(mine)))
            plan["unreachable_sources"].add(issuer)
            continue
        theirs = (theirs_state.get("sets") or {}).get(md)
        key_types = list(mine.get("key_types") or [])
        if not theirs or not (theirs.get("certs") or {}):
            plan["waiting"].append(dict(entry, host=host, why=WAIT_NO_SET, serving=_serials(mine)))
            continue
        missing = [kt for kt in key_types if kt not in (theirs.get("certs") or {})]
        if missing:
            plan["waiting"].append(dict(entry, host=host, why=WAIT_KEY_TYPES % ", ".join(missing),
                                        serving=_serials(mine)))
            continue
        if _fingerprints(mine, key_types) == _fingerprints(theirs, key_types):
            plan["unchanged"].setdefault(host, []).append(md)
            continue
        key = export_key(KIND_SET, issuer, md)
        plan["_exports"][key] = {"key": key, "kind": KIND_SET, "host": issuer, "md": md}
        plan["imports"].setdefault(host, []).append(dict(entry, key=key, serving=_serials(mine),
                                                         issuer_serials=_serials(theirs)))


def _plan_accounts(host: str, state: dict, sources: dict, plan: dict) -> None:
    holder = state.get("account_holder")
    if not holder or state.get("holds_accounts") or holder == host:
        return
    holder_state = sources.get(holder)
    for ca_id, ca in sorted((state.get("cas") or {}).items()):
        entry = {"kind": KIND_ACCOUNT, "ca_url": ca.get("ca_url"), "eab_kid": ca.get("eab_kid"), "source": holder}
        if not isinstance(holder_state, dict):
            plan["waiting"].append(dict(entry, host=host, why="account holder %s %s" % (holder, UNREACHABLE)))
            plan["unreachable_sources"].add(holder)
            continue
        theirs = (holder_state.get("accounts") or {}).get(ca_id)
        if not theirs:
            plan["waiting"].append(dict(entry, host=host, why=WAIT_NO_ACCOUNT))
            continue
        mine = (state.get("accounts") or {}).get(ca_id) or {}
        if mine.get("key_thumbprint") == theirs.get("key_thumbprint") and \
                mine.get("account_url") == theirs.get("account_url"):
            plan["unchanged"].setdefault(host, []).append(ca.get("ca_url"))
            continue
        key = export_key(KIND_ACCOUNT, holder, ca_id)
        plan["_exports"][key] = {"key": key, "kind": KIND_ACCOUNT, "host": holder, "ca_url": ca.get("ca_url"),
                                 "eab_kid": ca.get("eab_kid")}
        plan["imports"].setdefault(host, []).append(dict(entry, key=key))


def _serials(state_set: dict) -> dict:
    return {kt: (facts or {}).get("serial") for kt, facts in sorted((state_set.get("certs") or {}).items())}


def distribution_plan(states: dict, sources: dict, kinds=None) -> dict:
    """states: host -> its fleet state (the hosts of this batch); sources: issuer/holder -> its fleet
    state, or None when it gave none. kinds: "set", "account" or both (default)."""
    kinds = list(kinds or [KIND_ACCOUNT, KIND_SET])
    plan: dict = {"_exports": {}, "imports": {}, "unchanged": {}, "waiting": [], "unreachable_sources": set()}
    for host, state in sorted((states or {}).items()):
        if not isinstance(state, dict):
            continue
        if KIND_ACCOUNT in kinds:
            _plan_accounts(host, state, sources or {}, plan)
        if KIND_SET in kinds:
            _plan_sets(host, state, sources or {}, plan)
    exports = [plan["_exports"][k] for k in sorted(plan["_exports"])]
    return {"exports": exports, "imports": plan["imports"], "unchanged": plan["unchanged"],
            "waiting": plan["waiting"], "unreachable_sources": sorted(plan["unreachable_sources"])}


def sources_of(model: dict, hosts) -> dict:
    """The issuers and account holders the given hosts import from (also hosts outside the play)."""
    issuers, holders = set(), set()
    for host in hosts or []:
        info = (model.get("hosts") or {}).get(str(host)) or {}
        for md in info.get("mds") or []:
            if md.get("issuer") and md["issuer"] != str(host):
                issuers.add(md["issuer"])
        if info.get("account_holder"):
            holders.add(info["account_holder"])
    return {"issuers": sorted(issuers), "holders": sorted(holders), "all": sorted(issuers | holders)}


def state_of(result) -> dict | None:
    """A registered `mdfleet fleet-state --json` result -> the state, or None (unreachable, skipped, failed)."""
    if not isinstance(result, dict) or result.get("unreachable") or result.get("skipped") or result.get("rc") != 0:
        return None
    try:
        doc = json.loads(result.get("stdout") or "")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("sets"), dict) else None


def _last_line(text) -> str:
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _exported(exports) -> tuple[dict, dict]:
    """The export loop's registered results -> (bundle text by key, why the export failed by key);
    the stderr of a failed export holds no key."""
    done, failed = {}, {}
    for res in (exports or {}).get("results", []) if isinstance(exports, dict) else exports or []:
        item = res.get("item") or {}
        if res.get("rc") == 0 and res.get("stdout"):
            done[item.get("key")] = res["stdout"]
        elif not res.get("skipped"):
            why = "unreachable" if res.get("unreachable") else _last_line(res.get("stderr")) or "failed"
            failed[item.get("key")] = "export from %s failed: %s" % (item.get("host"), why)
    return done, failed


def import_input_of(items, exports=None) -> str:
    """A host's planned imports -> the stdin of its one `mdfleet import`: a JSON array of the bundles
    exported for them, in the plan's order ("" when none was exported). It holds private keys: only
    for a no_log task."""
    done, _failed = _exported(exports)
    texts = [done[item.get("key")] for item in items or [] if item.get("key") in done]
    return "[" + ",\n".join(texts) + "]" if texts else ""


def imports_of(result, items=None, exports=None) -> list[dict]:
    """A host's one `mdfleet import` (its registered result), its planned imports and the export
    loop's results -> per planned import what happened, without anything of the bundles. The
    import's entries come in the order of its input (import_input_of): the exported items."""
    done, failed_exports = _exported(exports)
    doc = _json_of(result)
    entries = doc.get("imports") if isinstance(doc.get("imports"), list) else []
    sent = [item for item in items or [] if item.get("key") in done]
    out = []
    for item in items or []:
        entry = {"key": item.get("key"), "kind": item.get("kind"), "what": item.get("md") or item.get("ca_url"),
                 "source": item.get("source"), "action": "failed", "changed": False, "serials": {}, "warnings": [],
                 "message": ""}
        out.append(entry)
        if item.get("key") not in done:
            entry.update(action="not_exported", message=failed_exports.get(item.get("key"), "not exported"))
            continue
        place = sent.index(item)
        one = entries[place] if place < len(entries) and isinstance(entries[place], dict) else None
        if one is None:  # no answer for it: the import did not run to its end
            why = doc.get("error") or _last_line((result or {}).get("stderr")) or "rc %s" % (result or {}).get("rc")
            entry["message"] = "import of %s from %s failed: %s" % (entry["what"], entry["source"], why)
            continue
        entry.update(action=one.get("action") or "failed", changed=bool(one.get("changed")),
                     serials=one.get("serials") or {}, warnings=list(one.get("warnings") or []))
        if one.get("error"):
            entry["action"] = "failed"
            entry["message"] = "import of %s from %s failed: %s" % (entry["what"], entry["source"], one["error"])
    return out


def _json_of(result) -> dict:
    if not isinstance(result, dict) or result.get("skipped"):
        return {}
    try:
        doc = json.loads(result.get("stdout") or "")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
