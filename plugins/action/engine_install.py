# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine_install: build the engine's zipapp on the controller (once per run), copy it when the
host's file differs. Documentation: plugins/modules/engine_install.py."""

from __future__ import annotations

import os

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mdfleet.md.plugins.plugin_utils.engine_zipapp import Build, BuildError, build

ENGINE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "mdcore")
ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "python": {"type": "path", "default": "/usr/bin/python3"},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
}


def cached_build(interpreter: str, location: str) -> tuple[str, Build]:
    """The zipapp for these arguments, built once per run: Ansible's local temporary folder is
    shared by the forks of one run and removed when it ends. Forks that build at the same time
    write the same bytes; each renames its own temporary file into place."""
    found = build(ENGINE_DIR, interpreter, location)
    folder = os.path.join(C.DEFAULT_LOCAL_TMP, "mdfleet_engine")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, "mdfleet-%s-%s.pyz" % (found.version, found.sha256[:16]))
    if not os.path.exists(path):
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "wb") as handle:
            handle.write(found.data)
        os.replace(tmp, path)
    return path, found


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # the copy action makes its own
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            path, found = cached_build(args["python"], args["dest"])
        except (BuildError, OSError) as exc:
            raise AnsibleActionFail("cannot build the engine's zipapp from %s: %s" % (ENGINE_DIR, exc)) from None
        copy_task = self._task.copy()
        copy_task.args.clear()
        copy_task.args.update(src=path, dest=args["dest"], owner=args["owner"], group=args["group"], mode="0755",
                              force=True)
        copy = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=copy_task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        result.update(copy.run(task_vars=task_vars))
        result.update(dest=args["dest"], version=found.version, sha256=found.sha256,
                      sources_sha256=found.sources_sha256, bytecode=found.bytecode, size=len(found.data))
        return result
