# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_state: a registered `mdfleet fleet-state` result as a state (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import state_of

DOCUMENTATION = r"""
name: managed_domains_fleet_state
short_description: The fleet state in a registered mdfleet fleet-state result, or null (managed_domains role)
version_added: "0.1.0"
description:
  - Takes a registered result of C(mdfleet fleet-state --json) (a task result or one loop result) and returns
    the parsed state, or null when the host was unreachable, the task was skipped or failed, or its output is
    not a fleet state.
options:
  _input:
    description: The registered result.
    type: dict
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
state: "{{ fleet_state_result | mdfleet.md.managed_domains_fleet_state }}"
"""

RETURN = r"""
_value:
  description: The fleet state (C(host), C(sets), C(accounts), C(cas), ...) or null.
  type: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_state": state_of}
