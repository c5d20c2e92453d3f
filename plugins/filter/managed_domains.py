# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains: the managed_domains role's managed_domains_domains, normalised for its templates."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.config import md_name_for, normalize_name
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import ConfigError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.domain import DEFAULT_KEY_TYPES

DOCUMENTATION = r"""
name: managed_domains
short_description: Normalise the managed_domains role's managed_domains_domains for config and web server glue
version_added: "0.1.0"
description:
  - Takes the role's C(managed_domains_domains) list and returns one dictionary per managed domain with
    C(name) (as the engine names it, that is the given name or else the first domain in its IDNA 2008 ASCII form,
    lower case, with C(*) as C(_)),
    C(domains) (each in its IDNA 2008 ASCII form, as web servers match it), C(key_types) (the domain's,
    else the defaults', else the engine's default), C(site) (the web server glue options with their defaults filled
    in) and C(config) (the entry for the host's config.json, that is the domain's options without C(site)
    and without unset values).
  - Fails with a clear message on a managed domain without names, on an invalid name, or on two domains
    with one name.
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


def _names(index, entry):
    """(md name, DNS names as the web server sees them): the engine's rules (IDNA 2008 ASCII form,
    lower case; a wildcard first name gives '_' in the md name), so server_name matches Host."""
    try:
        names = [normalize_name(str(d)) for d in entry["domains"]]
        return (str(entry["name"]) if entry.get("name") else md_name_for(names[0])), names
    except ConfigError as exc:
        raise AnsibleFilterError("managed_domains_domains[%d]: %s" % (index, exc)) from None


def managed_domains(domains, defaults=None, site_defaults=None):
    defaults = defaults or {}
    site_defaults = site_defaults or {}
    out = []
    seen = {}
    for index, entry in enumerate(domains or []):
        if not isinstance(entry, dict) or not entry.get("domains"):
            raise AnsibleFilterError("managed_domains_domains[%d]: a managed domain needs a non-empty 'domains' list"
                                     % index)
        name, names = _names(index, entry)
        if name in seen:
            raise AnsibleFilterError("managed_domains_domains[%d]: managed domain name %r is already used by "
                                     "managed_domains_domains[%d]" % (index, name, seen[name]))
        seen[name] = index
        site = dict(site_defaults)
        site.update({k: v for k, v in (entry.get(SITE_KEY) or {}).items() if v is not None})
        key_types = entry.get("key_types") or defaults.get("key_types") or DEFAULT_KEY_TYPES
        config = {k: v for k, v in entry.items() if k != SITE_KEY and v is not None}
        out.append({"name": name, "domains": names, "key_types": list(key_types),
                    "site": site, "config": config})
    return out


class FilterModule:
    def filters(self):
        return {"managed_domains": managed_domains}
