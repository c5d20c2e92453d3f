# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet: the fleet's managed domains from every host's inventory variables (plugin_utils/fleet.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet import fleet_model

DOCUMENTATION = r"""
name: managed_domains_fleet
short_description: The fleet model of the managed_domains role (shared certificates, issuers, account holders)
version_added: "0.1.0"
description:
  - Takes C(hostvars) and the fleet's host names and returns every host's managed domains (names and key
    types normalised by the engine's rules, secrets removed), its account holder, the address and ports
    other hosts forward challenges to, and the shared managed domains (C(issuer), C(members), C(domains),
    C(key_types)).
  - A managed domain with C(issuer) is shared. Every host that declares it must declare the same issuer,
    names and key types, no host may declare it without an issuer, and the issuer and the account holder
    must be hosts of the inventory; anything else fails with a message naming the domain and the hosts.
  - The role computes this once per play (C(run_once)); M(mdfleet.md.managed_domains_fleet_view) then gives
    each host its part.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: Every host of the fleet, normally C(groups['all']). Hosts without C(managed_domains_domains)
      take part only as issuer or account holder.
    type: list
    elements: str
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
fleet: "{{ hostvars | mdfleet.md.managed_domains_fleet(groups['all']) }}"
"""

RETURN = r"""
_value:
  description: The fleet model.
  type: dict
  contains:
    hosts:
      description: Host name -> C(mds) (name, domains, key_types, issuer, challenge, cas), C(account_holder),
        C(address), C(http_port), C(https_port).
      type: dict
    shared:
      description: Shared managed domain -> C(issuer), C(members) (the hosts that declare it), C(domains),
        C(key_types), C(challenge).
      type: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet": fleet_model}
