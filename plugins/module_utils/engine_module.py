# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every mdfleet module does first: build the AnsibleModule and check the engine's libraries.

Ansible glue only; the engine (mdcore) never imports this.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.deps import missing_libraries


def engine_module(**kwargs) -> AnsibleModule:
    """An AnsibleModule that has already failed cleanly if cryptography is missing."""
    module = AnsibleModule(**kwargs)
    missing = missing_libraries()
    if missing:
        module.fail_json(msg=missing_required_lib(", ".join(missing)))
    return module
