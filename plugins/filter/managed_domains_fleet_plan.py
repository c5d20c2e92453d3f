# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_plan: who needs which set or account in a distribution run (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import distribution_plan

DOCUMENTATION = r"""
name: managed_domains_fleet_plan
short_description: Who needs which shared certificate set or fleet account (managed_domains role, distribute)
version_added: "0.1.0"
description:
  - Takes the C(mdfleet fleet-state --json) documents of the hosts of a run and of their sources (issuers and
    account holders) and returns what to export once and import where. No key is involved, only public
    identities (serials, SHA-256 fingerprints, account key thumbprints).
  - A member needs a set when its certificates' fingerprints differ from its issuer's; a host whose accounts
    another host holds needs an account when its key thumbprint or account URL for that CA differs from the
    holder's. A source that gave no state (unreachable) leaves its members as they are and is listed.
options:
  _input:
    description: Host name -> its fleet state (a dictionary; anything else counts as no state).
    type: dict
    required: true
  sources:
    description: Issuer or account holder -> its fleet state, or null when it gave none.
    type: dict
    required: true
  kinds:
    description: What to plan, C(set) and/or C(account).
    type: list
    elements: str
    default: [account, set]
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
plan: "{{ member_states | mdfleet.md.managed_domains_fleet_plan(source_states, ['set']) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    exports:
      description: What to export, once each - C(key), C(kind) (set or account), C(host) (where), C(md) or
        C(ca_url)/C(eab_kid).
      type: list
      elements: dict
    imports:
      description: Host -> what it imports (C(kind), C(md) or C(ca_url), C(source), C(key) of the export,
        C(serving) and C(issuer_serials) for sets).
      type: dict
    unchanged:
      description: Host -> the sets (md names) and accounts (CA URLs) it already has as its source has them.
      type: dict
    waiting:
      description: What a host could not get this run, with C(why) (the source gave no state, has no set or
        account yet) and what it keeps C(serving).
      type: list
      elements: dict
    unreachable_sources:
      description: Issuers and account holders that gave no state.
      type: list
      elements: str
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_plan": distribution_plan}
