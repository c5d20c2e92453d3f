# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_imports: what a host's imports did, without the bundles (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import imports_of

DOCUMENTATION = r"""
name: managed_domains_fleet_imports
short_description: What the import of a distribution run did on one host (managed_domains role)
version_added: "0.1.0"
description:
  - Takes the registered result of the role's one C(mdfleet import --json -) per host (whose task is no_log, as
    its input holds private keys), the host's planned imports and the export loop's result, and returns, per
    planned import, only what the engine reported (C(action), C(serials), C(warnings)) and a message when it
    failed or its bundle was not exported; nothing of the bundles.
options:
  _input:
    description: The import task's registered result.
    type: dict
    required: true
  items:
    description: The host's planned imports (C(imports[host]) of M(mdfleet.md.managed_domains_fleet_plan)).
    type: list
    elements: dict
    required: true
  exports:
    description: The export loop's registered result, to name why an export failed (its error output only).
    type: dict
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
imported: >-
  {{ import_result | mdfleet.md.managed_domains_fleet_imports(plan.imports[inventory_hostname], export_results) }}
"""

RETURN = r"""
_value:
  description: One entry per planned import - C(key), C(kind), C(what) (md or CA URL), C(source), C(action)
    (imported, unchanged, refused, would_import, failed, not_exported), C(changed), C(serials), C(warnings),
    C(message).
  type: list
  elements: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_imports": imports_of}
