# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_fleet_imports: what a host's imports did, without the bundles (plugin_utils/fleet_plan.py)."""

from __future__ import annotations

from ansible_collections.mdfleet.md.plugins.plugin_utils.fleet_plan import imports_of

DOCUMENTATION = r"""
name: managed_domains_fleet_imports
short_description: What the imports of a distribution run did on one host (managed_domains role)
version_added: "0.1.0"
description:
  - Takes the registered results of the role's C(mdfleet import --json -) loop (whose task is no_log, as its
    input holds private keys) and returns, per import, only what the engine reported (C(action), C(serials),
    C(warnings)) and a message when it failed; nothing of the bundles.
options:
  _input:
    description: The loop's C(results).
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
imported: "{{ import_results.results | mdfleet.md.managed_domains_fleet_imports(export_results) }}"
"""

RETURN = r"""
_value:
  description: One entry per import - C(key), C(kind), C(what) (md or CA URL), C(source), C(action) (imported,
    unchanged, refused, would_import, failed, not_exported), C(changed), C(serials), C(warnings), C(message).
  type: list
  elements: dict
"""


class FilterModule:
    def filters(self):
        return {"managed_domains_fleet_imports": imports_of}
