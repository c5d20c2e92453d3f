# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_files: render the templates on the controller (as ansible.builtin.template does), then one
run of the host_files module for every folder, file and link. Documentation: plugins/modules/host_files.py."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

# Only what a file entry of the module keeps; the others are the action's.
MODULE_FILE_KEYS = ("path", "mode", "content", "force")


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        try:
            args["files"] = [one for entry in args.get("files") or [] for one in self._render(entry, task_vars)]
            args["links"] = [one for entry in args.get("links") or [] for one in self._links(entry)]
        except AnsibleError as exc:
            raise AnsibleActionFail("host_files: %s" % exc) from None
        result.update(self._execute_module(module_name="mdfleet.md.host_files", module_args=args, task_vars=task_vars))
        return result

    def _render(self, entry: Mapping, task_vars: dict) -> list[dict]:
        """The entry's files with their content: one per item of its loop."""
        if not isinstance(entry, Mapping) or "path" not in entry:
            raise AnsibleActionFail("host_files: every entry of files needs a path: %r" % (entry,))
        template = entry.get("template")
        if (template is None) == (entry.get("content") is None):
            raise AnsibleActionFail("host_files: %s needs either content or template" % entry["path"])
        loop = entry.get("loop")
        items = [None] if loop is None else list(loop)
        out = []
        for item in items:
            path = entry["path"] if loop is None else self._item_path(entry["path"], item)
            rendered = {k: entry[k] for k in MODULE_FILE_KEYS if k in entry}
            rendered["path"] = path
            if template is not None:
                variables = {} if loop is None else {entry.get("loop_var") or "item": item}
                rendered["content"] = self._template(template, path, task_vars, variables)
            out.append(rendered)
        return out

    def _links(self, entry: Mapping) -> list[dict]:
        """The entry's links: one per item of its loop (path and src formatted with the item)."""
        if not isinstance(entry, Mapping) or "path" not in entry or "src" not in entry:
            raise AnsibleActionFail("host_files: every entry of links needs a path and a src: %r" % (entry,))
        if entry.get("loop") is None:
            return [{"path": entry["path"], "src": entry["src"]}]
        return [{"path": self._item_path(entry["path"], item), "src": self._item_path(entry["src"], item)}
                for item in entry["loop"]]

    @staticmethod
    def _item_path(pattern: str, item) -> str:
        try:
            return pattern % item
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleActionFail("host_files: path %r of a loop item: %s" % (pattern, exc)) from None

    def _template(self, name: str, dest: str, task_vars: dict, variables: dict) -> str:
        source = self._find_needle("templates", name)
        text = self._loader.get_text_file_contents(source)
        searchpath = []
        for folder in list(task_vars.get("ansible_search_path", [])) + [self._loader._basedir, os.path.dirname(source)]:
            searchpath += [os.path.join(folder, "templates"), folder]
        available = dict(task_vars)
        available.setdefault("ansible_managed", C.config.get_config_value("DEFAULT_MANAGED_STR"))
        available.update(template_path=name, template_fullpath=source, template_destpath=dest)
        available.update(variables)
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=available)
        content = templar.template(trust_as_template(text), escape_backslashes=False,
                                   overrides=dict(trim_blocks=True, lstrip_blocks=False))
        return "" if content is None else str(content)
