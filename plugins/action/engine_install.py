# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine_install: build the engine's zipapp on the controller (once per run), copy it when the
host's file differs. Documentation: plugins/modules/engine_install.py."""

from __future__ import annotations

import json
import os

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import ConfigError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.check import check_options
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.modules import MODULES, module_argument_spec
from ansible_collections.mdfleet.md.plugins.plugin_utils.engine_zipapp import (
    BuildError,
    build,
    inputs_key,
    source_files,
)

ENGINE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "mdcore")
ARGUMENT_SPEC = module_argument_spec("engine_install")


def cached_build(interpreter: str, location: str) -> tuple[str, dict]:
    """The zipapp for these arguments and its build info, built once per run: Ansible's local
    temporary folder is shared by the forks of one run and removed when it ends. A build is
    found by what its bytes depend on (reading the sources costs milliseconds, building them a
    compiler process); forks that build at the same time write the same bytes, and each renames
    its own temporary files into place, the info last."""
    sources = source_files(ENGINE_DIR)
    folder = os.path.join(C.DEFAULT_LOCAL_TMP, "mdfleet_engine")
    path = os.path.join(folder, "mdfleet-%s.pyz" % inputs_key(sources, interpreter, location)[:32])
    try:
        with open(path + ".json", encoding="utf-8") as handle:
            return path, json.load(handle)
    except (OSError, ValueError):
        pass
    found = build(ENGINE_DIR, interpreter, location, sources)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for target, data in ((path, found.data), (path + ".json", json.dumps(found.info()).encode())):
        tmp = "%s.%d" % (target, os.getpid())
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    return path, found.info()


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # the copy action makes its own
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:  # the table's own rules beyond Ansible's types (absolute paths)
            args = check_options(MODULES["engine_install"], dict(args), "")
        except ConfigError as exc:
            raise AnsibleActionFail(str(exc)) from None
        try:
            path, info = cached_build(args["python"], args["dest"])
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
        result.update(dest=args["dest"], version=info["version"], sha256=info["sha256"],
                      sources_sha256=info["sources_sha256"], bytecode=info["bytecode"], size=info["size"])
        return result
