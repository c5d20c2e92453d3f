# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every mdfleet module does first: build the AnsibleModule and check the engine's libraries.

Ansible glue only; the engine (mdcore) never imports this.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.mdfleet.md.plugins.module_utils import bytecache  # before the engine: its imports get cached
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.deps import missing_libraries
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import ConfigError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.check import check_options
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.model import Option


def engine_module(**kwargs) -> AnsibleModule:
    """An AnsibleModule that has already failed cleanly if cryptography is missing."""
    bytecache.install()  # a no-op: importing it installed the cache; what the module imports later is cached too
    module = AnsibleModule(**kwargs)
    missing = missing_libraries()
    if missing:
        module.fail_json(msg=missing_required_lib(", ".join(missing)))
    return module


def deprecate(module: AnsibleModule, notes: list[str]) -> None:
    """The engine's deprecation notes (old spellings it still accepts) as Ansible deprecation warnings."""
    for note in notes:
        module.deprecate(note, version="1.0.0", collection_name="mdfleet.md")  # refused from 1.0.0 on


def checked_params(module: AnsibleModule, options: tuple[Option, ...]) -> dict:
    """The module's parameters checked strictly by its options of the engine's table (durations
    converted to seconds, no NaN or Infinity, ...); a bad one fails the task naming the parameter.
    ``options``: the table's entry (options.modules.MODULES) or its compact copy (options/<module>_spec.py)."""
    notes: list[str] = []
    try:
        values = check_options(options, dict(module.params), "", notes)
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    deprecate(module, notes)
    return values
