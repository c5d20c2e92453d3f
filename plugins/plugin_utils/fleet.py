# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet model of the managed_domains role, computed on the controller from inventory variables.

A shared managed domain is declared once (group_vars of the group that serves it) with
`issuer: <inventory host>`. `fleet_model` reads every host's declarations once per play (O(hosts)),
refuses inconsistent ones, and keeps no secret; `host_view` then tells one host what it orders,
what it imports and from whom, where its web server forwards challenges for shared names, and (on
the account holder) which CAs the fleet's accounts are for. Names and key types are normalised by
the engine's own rules (module_utils/mdcore), so what is compared here is what the engine orders.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.config import md_name_for, normalize_name
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import ConfigError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.keytypes import key_spec
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.domain import DEFAULT_KEY_TYPES

HTTP01, TLSALPN01 = "http-01", "tls-alpn-01"
SECRET_KEYS = ("eab_hmac_key",)
# Options of a managed domain that its ACME account depends on (config.json's `accounts` entries).
ACCOUNT_KEYS = ("ca_bundle", "eab_kid", "eab_hmac_key", "eab_alg", "contact", "agree_tos", "account_key_type",
                "proxy")
HOST_VARS = ("managed_domains_domains", "managed_domains_defaults", "managed_domains_account_holder",
             "managed_domains_fleet_address", "managed_domains_listen_addresses", "managed_domains_http_port",
             "managed_domains_https_port", "ansible_host")


class FleetError(AnsibleFilterError):
    pass


def host_vars(hostvars, host: str) -> dict:
    """The variables of `host` the fleet model reads (inventory variables: what every host sees)."""
    try:
        hv = hostvars[host]
    except KeyError:
        return {}
    if not hasattr(hv, "get"):
        return {}
    return {key: hv.get(key, None) for key in HOST_VARS}


def _strip_secrets(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k not in SECRET_KEYS and v is not None}
    if isinstance(out.get("cas"), list):
        out["cas"] = [_strip_secrets(ca) if isinstance(ca, dict) else ca for ca in out["cas"]]
    return out


def _names(entry: dict, where: str) -> list[str]:
    domains = entry.get("domains")
    if not isinstance(domains, list) or not domains:
        raise FleetError("%s: a managed domain needs a non-empty 'domains' list" % where)
    try:
        return [normalize_name(str(d)) for d in domains]
    except ConfigError as exc:
        raise FleetError("%s: %s" % (where, exc)) from None


def _key_types(entry: dict, defaults: dict, where: str) -> list[str]:
    try:
        return [key_spec(k).name for k in (entry.get("key_types") or defaults.get("key_types") or DEFAULT_KEY_TYPES)]
    except ConfigError as exc:
        raise FleetError("%s: %s" % (where, exc)) from None


def md_summary(entry: object, defaults: dict, where: str) -> dict:
    """What the fleet compares of one managed domain entry (the engine's name rule: the given name,
    else md_name_for the first name), plus the entry without secrets."""
    if not isinstance(entry, dict):
        raise FleetError("%s: must be a dictionary" % where)
    names = _names(entry, where)
    return {"name": str(entry.get("name") or md_name_for(names[0])), "domains": names,
            "key_types": _key_types(entry, defaults, where), "issuer": str(entry["issuer"]) if entry.get("issuer")
            else None, "challenge": entry.get("challenge") or defaults.get("challenge") or HTTP01,
            "cas": cas_of(_strip_secrets(entry), _strip_secrets(defaults)), "entry": _strip_secrets(entry)}


def cas_of(entry: dict, defaults: dict) -> list[dict]:
    """The CAs a managed domain orders from (config.py's _ca_list order), with their account options."""
    merged = dict(defaults)
    merged.update({k: v for k, v in entry.items() if v is not None})
    cas = []
    if merged.get("acme_directory"):
        cas.append({"url": merged["acme_directory"], **{k: merged.get(k) for k in ACCOUNT_KEYS}})
    for ca in merged.get("cas") or []:
        if isinstance(ca, dict) and ca.get("url"):
            inherited = {k: merged.get(k) for k in ACCOUNT_KEYS if k not in ("eab_kid", "eab_hmac_key", "eab_alg")}
            cas.append({**inherited, **{k: v for k, v in ca.items() if v is not None}})
    return [{k: v for k, v in ca.items() if v is not None} for ca in cas]


def _address(hv: dict, host: str) -> str:
    if hv.get("managed_domains_fleet_address"):
        return str(hv["managed_domains_fleet_address"])
    listen = hv.get("managed_domains_listen_addresses") or []
    return str(listen[0] if listen else hv.get("ansible_host") or host)


def fleet_model(hostvars, hosts) -> dict:
    """Every host's managed domains (no secrets) and the shared ones, checked for consistency."""
    hosts = [str(h) for h in hosts or []]
    model: dict = {"hosts": {}, "shared": {}}
    for host in hosts:
        hv = host_vars(hostvars, host)
        defaults = hv.get("managed_domains_defaults") or {}
        mds = [md_summary(entry, defaults, "%s: managed_domains_domains[%d]" % (host, index))
               for index, entry in enumerate(hv.get("managed_domains_domains") or [])]
        holder = hv.get("managed_domains_account_holder") or None
        if holder is not None and str(holder) not in hosts:
            raise FleetError("%s: managed_domains_account_holder %r is not a host of the inventory" % (host, holder))
        model["hosts"][host] = {
            "mds": mds, "account_holder": str(holder) if holder else None, "address": _address(hv, host),
            "http_port": int(hv.get("managed_domains_http_port") or 80),
            "https_port": int(hv.get("managed_domains_https_port") or 443)}
    for host, info in model["hosts"].items():
        for md in info["mds"]:
            if md["issuer"] is not None:
                merge_shared(model["shared"], md, host)
    for name, shared in model["shared"].items():
        for host, info in model["hosts"].items():
            for md in info["mds"]:
                if md["name"] == name and md["issuer"] is None:
                    raise FleetError(
                        "managed domain %r is shared (issuer %s, declared on %s) but %s declares it without an "
                        "issuer (it would order it too): add issuer: %s there"
                        % (name, shared["issuer"], ", ".join(shared["members"]), host, shared["issuer"]))
        if shared["issuer"] not in model["hosts"]:
            raise FleetError("managed domain %r: its issuer %r is not a host of the inventory (declared on %s)"
                             % (name, shared["issuer"], ", ".join(shared["members"])))
    return model


def merge_shared(shared: dict, md: dict, host: str) -> None:
    """Add one host's declaration of a shared managed domain; a different issuer, names or key types
    than the other hosts' fail, naming both sides."""
    known = shared.get(md["name"])
    if known is None:
        shared[md["name"]] = {"issuer": md["issuer"], "domains": md["domains"], "key_types": md["key_types"],
                              "challenge": md["challenge"], "members": [host], "entry": md["entry"]}
        return
    for what, label in (("issuer", "issuers"), ("domains", "names"), ("key_types", "key types")):
        if md[what] != known[what]:
            raise FleetError(
                "managed domain %r has two different %s: %s on %s, %s on %s (a shared managed domain must be "
                "declared the same way on every host, best once in group_vars)"
                % (md["name"], label, known[what], ", ".join(known["members"]), md[what], host))
    known["members"].append(host)


def _check_own(model: dict, host: str, md: dict) -> dict:
    """The fleet's record of a shared managed domain this host declares. The host's own variables may be
    role or play variables that the inventory does not show: they must agree with the other hosts'."""
    known = model["shared"].get(md["name"])
    record = {"issuer": md["issuer"], "domains": md["domains"], "key_types": md["key_types"],
              "challenge": md["challenge"], "members": [], "entry": md["entry"]}
    if known is not None:
        record = dict(known, members=[m for m in known["members"] if m != host])
    scratch = {md["name"]: record} if record["members"] else {}
    merge_shared(scratch, md, host)
    info = scratch[md["name"]]
    if info["issuer"] not in model["hosts"] and info["issuer"] != host:
        raise FleetError("%s: managed domain %r: its issuer %r is not a host of the inventory"
                         % (host, md["name"], info["issuer"]))
    return info


def _forward(model: dict, md: dict) -> dict | None:
    issuer = md["issuer"]
    issuer_info = model["hosts"].get(issuer) or {}
    own = next((m for m in issuer_info.get("mds", []) if m["name"] == md["name"]), None)
    challenge = (own or model["shared"].get(md["name"]) or md)["challenge"]
    if challenge not in (HTTP01, TLSALPN01):
        return None  # dns-01 / dns-persist-01: nothing reaches the web servers
    port = issuer_info.get("https_port" if challenge == TLSALPN01 else "http_port") or (
        443 if challenge == TLSALPN01 else 80)
    return {"issuer": issuer, "address": issuer_info.get("address", issuer), "port": int(port),
            "names": md["domains"], "challenge": challenge}


def _holder_accounts(model: dict, hostvars, holder: str, own_cas: list[dict]) -> list[dict]:
    """CAs that the fleet's orderers (hosts whose holder this is) order from and the holder does not,
    with their EAB secrets read from the declaring host's variables."""
    seen = {(ca["url"], ca.get("eab_kid")) for ca in own_cas}
    out = []
    for host, info in model["hosts"].items():
        if host == holder or info["account_holder"] != holder:
            continue
        hv = host_vars(hostvars, host) if hostvars is not None else {}
        raw = hv.get("managed_domains_domains") or []
        for index, md in enumerate(info["mds"]):
            if md["issuer"] not in (None, host):
                continue  # imported: the issuer's account orders it
            full = cas_of(raw[index], hv.get("managed_domains_defaults") or {}) if index < len(raw) else md["cas"]
            for ca in full:
                key = (ca["url"], ca.get("eab_kid"))
                if key not in seen:
                    seen.add(key)
                    out.append(ca)
    return out


def host_view(model: dict, host: str, domains, defaults=None, account_holder=None, hostvars=None) -> dict:
    """One host's part of the fleet: config entries, what it issues/imports, challenge forwarding."""
    host, defaults = str(host), defaults or {}
    view: dict = {"host": host, "domains": [], "issues": [], "imports": {}, "forward": {}, "challenge_only": [],
                  "shared": {}, "account_holder": str(account_holder) if account_holder else None,
                  "holder_accounts": []}
    if view["account_holder"] and view["account_holder"] not in model["hosts"] and view["account_holder"] != host:
        raise FleetError("%s: managed_domains_account_holder %r is not a host of the inventory"
                         % (host, view["account_holder"]))
    own_cas: list[dict] = []
    declared = set()
    for index, entry in enumerate(domains or []):
        md = md_summary(entry, defaults, "%s: managed_domains_domains[%d]" % (host, index))
        declared.add(md["name"])
        out = dict(entry)
        if md["issuer"] is None:
            own_cas += md["cas"]
        else:
            info = _check_own(model, host, md)
            out.update(issuer=md["issuer"], members=sorted(set(info["members"]) | {host}))
            view["shared"][md["name"]] = {"issuer": md["issuer"], "members": out["members"],
                                          "domains": md["domains"], "key_types": md["key_types"]}
            if md["issuer"] == host:
                view["issues"].append(md["name"])
                own_cas += md["cas"]
            else:
                view["imports"][md["name"]] = md["issuer"]
                forward = _forward(model, md)
                if forward:
                    view["forward"][md["name"]] = forward
        view["domains"].append(out)
    for name, info in model["shared"].items():
        if info["issuer"] != host or name in declared:
            continue
        # issued here for a group this host does not serve: ordered and answered, never served
        entry = {k: v for k, v in info["entry"].items() if k != "site"}
        entry.update(issuer=host, members=sorted(info["members"]), site={"enabled": False})
        view["domains"].append(entry)
        view["issues"].append(name)
        view["challenge_only"].append({"name": name, "domains": info["domains"], "challenge": info["challenge"]})
        view["shared"][name] = {"issuer": host, "members": entry["members"], "domains": info["domains"],
                                "key_types": info["key_types"]}
        own_cas += cas_of(entry, _strip_secrets(defaults))
    if view["account_holder"] == host:
        view["holder_accounts"] = _holder_accounts(model, hostvars, host, own_cas)
    return view
