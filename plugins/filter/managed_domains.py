# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains: the managed_domains role's managed_domains_domains, normalised for its templates."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: managed_domains
short_description: Normalise the managed_domains role's managed_domains_domains for config and web server glue
version_added: "0.1.0"
description:
  - Takes the role's C(managed_domains_domains) list and returns one dictionary per managed domain with
    C(name) (as the engine names it, that is the given name or else the first domain in lower case with C(*) as C(_)),
    C(domains), C(key_types) (the domain's, else the defaults', else C([p256])), C(site) (the web
    server glue options with their defaults filled in) and C(config) (the entry for the host's
    config.json, that is the domain's options without C(site) and without unset values).
  - Fails with a clear message on a managed domain without names or on two domains with one name.
options:
  _input:
    description: The role's C(managed_domains_domains).
    type: list
    elements: dict
    required: true
  defaults:
    description: The role's C(managed_domains_defaults) (where C(key_types) may be set for all domains).
    type: dict
  site_defaults:
    description: Defaults of each domain's C(site) options.
    type: dict
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
mds: "{{ managed_domains_domains | mdfleet.md.managed_domains(managed_domains_defaults, {'enabled': true}) }}"
"""

RETURN = r"""
_value:
  description: One dictionary per managed domain (name, domains, key_types, site, config).
  type: list
  elements: dict
"""


SITE_KEY = "site"


def _md_name(entry):
    name = entry.get("name")
    if name:
        return str(name)
    first = str(entry["domains"][0]).strip().rstrip(".").lower()
    try:
        first = ".".join(label.encode("idna").decode("ascii") if label not in ("*", "") else label
                         for label in first.split("."))
    except UnicodeError:
        pass  # the engine's check-config reports the bad name with its key
    return first.replace("*", "_")


def managed_domains(domains, defaults=None, site_defaults=None):
    defaults = defaults or {}
    site_defaults = site_defaults or {}
    out = []
    seen = {}
    for index, entry in enumerate(domains or []):
        if not isinstance(entry, dict) or not entry.get("domains"):
            raise AnsibleFilterError("managed_domains_domains[%d]: a managed domain needs a non-empty 'domains' list"
                                     % index)
        name = _md_name(entry)
        if name in seen:
            raise AnsibleFilterError("managed_domains_domains[%d]: managed domain name %r is already used by "
                                     "managed_domains_domains[%d]" % (index, name, seen[name]))
        seen[name] = index
        site = dict(site_defaults)
        site.update({k: v for k, v in (entry.get(SITE_KEY) or {}).items() if v is not None})
        key_types = entry.get("key_types") or defaults.get("key_types") or ["p256"]
        config = {k: v for k, v in entry.items() if k != SITE_KEY and v is not None}
        out.append({"name": name, "domains": [str(d) for d in entry["domains"]], "key_types": list(key_types),
                    "site": site, "config": config})
    return out


class FilterModule:
    def filters(self):
        return {"managed_domains": managed_domains}
