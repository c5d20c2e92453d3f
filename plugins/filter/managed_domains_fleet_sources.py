# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_sources: the issuers and holders some hosts import from (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import sources_of

DOCUMENTATION = r"""
name: managed_domains_fleet_sources
short_description: The issuers and account holders that some hosts import from (managed_domains role)
version_added: "0.1.0"
description:
  - Takes the model of M(mdfleet.md.managed_domains_fleet) and host names (a run's hosts) and returns the hosts
    they get sets and accounts from, also when those are outside the run (C(--limit), C(serial)).
options:
  _input:
    description: The fleet model.
    type: dict
    required: true
  hosts:
    description: The hosts of the run, for example C(ansible_play_batch).
    type: list
    elements: str
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
sources: "{{ fleet_model | mdfleet.md.managed_domains_fleet_sources(ansible_play_batch) }}"
"""

RETURN = r"""
_value:
  description: C(issuers), C(holders) and C(all) (both), sorted host names.
  type: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_sources": sources_of}
