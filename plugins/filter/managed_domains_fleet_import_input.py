# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_import_input: the stdin of a host's one `mdfleet import` (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import import_input_of

DOCUMENTATION = r"""
name: managed_domains_fleet_import_input
short_description: The bundles a host imports, as the input of one mdfleet import (managed_domains role)
version_added: "0.1.0"
description:
  - Takes a host's planned imports (C(imports[host]) of M(mdfleet.md.managed_domains_fleet_plan)) and the
    registered result of the role's export loop, and returns a JSON array of the bundles exported for them, in
    the plan's order, or an empty string when none was exported. C(mdfleet import --json -) takes the array on
    stdin and imports every bundle in one run, with one reload of the web server.
  - The bundles hold private keys; use the result only in a task with C(no_log).
options:
  _input:
    description: The host's planned imports.
    type: list
    elements: dict
    required: true
  exports:
    description: The export loop's registered result.
    type: dict
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
stdin: "{{ plan.imports[inventory_hostname] | mdfleet.md.managed_domains_fleet_import_input(export_results) }}"
"""

RETURN = r"""
_value:
  description: A JSON array of bundles (text), or an empty string.
  type: str
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_import_input": import_input_of}
