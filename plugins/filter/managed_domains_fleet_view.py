# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_view: one host's part of the fleet model (plugin_utils/fleet.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet import host_view

DOCUMENTATION = r"""
name: managed_domains_fleet_view
short_description: One host's part of the fleet (what it orders, imports, forwards) for the managed_domains role
version_added: "0.1.0"
description:
  - Takes the model of M(mdfleet.md.managed_domains_fleet) and one host's own C(managed_domains_domains),
    C(managed_domains_defaults) and C(managed_domains_account_holder) (as the role sees them, also role or
    play variables) and returns the managed domain entries of its config.json (shared ones with C(issuer)
    and C(members); the shared domains it issues for hosts it does not serve with C(site.enabled=false)),
    which shared domains it issues and which it imports from whom, where its web server forwards their
    challenges, and, on the account holder, the CAs it keeps the fleet's accounts for.
  - The host's own shared declarations must agree with the other hosts' (issuer, names, key types).
options:
  _input:
    description: The fleet model.
    type: dict
    required: true
  host:
    description: C(inventory_hostname).
    type: str
    required: true
  domains:
    description: The host's C(managed_domains_domains).
    type: list
    elements: dict
    required: true
  defaults:
    description: The host's C(managed_domains_defaults).
    type: dict
  account_holder:
    description: The host's C(managed_domains_account_holder).
    type: str
  hostvars:
    description: C(hostvars), only read on the account holder for the EAB keys of the CAs other hosts order from.
    type: dict
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
view: >-
  {{ fleet | mdfleet.md.managed_domains_fleet_view(inventory_hostname, managed_domains_domains,
     managed_domains_defaults) }}
"""

RETURN = r"""
_value:
  description: The host's part of the fleet.
  type: dict
  contains:
    host:
      description: The host's name (config.json's C(host)).
      type: str
    domains:
      description: Managed domain entries for the host's config.json (as in C(managed_domains_domains)).
      type: list
      elements: dict
    issues:
      description: Shared managed domains this host orders.
      type: list
      elements: str
    imports:
      description: Shared managed domain -> its issuer, for those this host imports.
      type: dict
    forward:
      description: Shared managed domain -> C(issuer), C(address), C(port), C(names), C(challenge) (http-01 or
        tls-alpn-01), for the challenges this host's web server forwards to the issuer.
      type: dict
    challenge_only:
      description: Shared managed domains this host issues without serving them (C(name), C(domains), C(challenge)).
      type: list
      elements: dict
    shared:
      description: The shared managed domains this host issues or imports -> C(issuer), C(members), C(domains),
        C(key_types).
      type: dict
    account_holder:
      description: The host that holds the fleet's ACME accounts, or null.
      type: str
    holder_accounts:
      description: On the account holder, the CAs other hosts order from and the holder does not (config.json's
        C(accounts)); they may hold EAB keys.
      type: list
      elements: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_view": host_view}
