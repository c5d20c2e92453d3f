#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many folders, files and links in one module run (plugins/action/host_files.py renders the templates)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_files
short_description: Folders, files (from templates or content), links and stale files of a host in one module run
version_added: "0.1.0"
description:
  - Ensures many folders, files and links, and removes files that are no longer wanted, in one run on the host
    instead of one M(ansible.builtin.file), M(ansible.builtin.template) or M(ansible.builtin.find) run per path
    (each costs the better part of a second). The managed_domains role writes its web server glue with it.
  - Folders come first (parents before children), then links, then files (temp file and rename, one flush of
    the file system at the end), then the O(prune) rules.
  - Templates (O(files[].template)) are rendered on the controller, like M(ansible.builtin.template), with the
    task's variables (and O(files[].loop_var) per item of O(files[].loop)); only their content goes to the host.
  - Owner and group apply to every folder and file (not to links).
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.host_files
attributes:
  check_mode:
    support: full
    details: Reports what would change without changing anything.
  diff_mode:
    support: full
    details: The content before and after of each file written (files over 64 KiB without it).
notes:
  - Needs nothing beyond Python on the host (none of the engine's libraries).
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: The web server's folders, includes and sites
  mdfleet.md.host_files:
    dirs:
      - {path: /etc/nginx/mdfleet, mode: "0755"}
    files:
      - {path: /etc/nginx/mdfleet/acme-challenge.conf, template: nginx-acme-challenge.conf.j2, mode: "0644"}
      - path: /etc/nginx/conf.d/mdfleet-%(name)s.conf
        template: nginx-site.conf.j2
        loop: "{{ sites }}"
        loop_var: __md
        mode: "0644"
    prune:
      - {path: /etc/nginx/conf.d, pattern: mdfleet-*.conf}
  notify: reload nginx
"""

RETURN = r"""
changes:
  description: Each path that changed (or would in check mode) and how (C(created), C(updated), C(attributes), C(linked), C(removed)).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/nginx/conf.d/mdfleet-www.conf, action: created}]
"""

import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.hostfiles import (
    HostFiles,
    Prune,
    WantDir,
    WantFile,
    WantLink,
    ensure,
)
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.modules import module_argument_spec

ARGUMENT_SPEC = module_argument_spec("host_files")


def mode(text: str, path: str) -> int:
    try:
        value = int(text, 8)
    except ValueError:
        raise MdError("mode of %s: %r is not octal" % (path, text)) from None
    if value != stat.S_IMODE(value):
        raise MdError("mode of %s: %r is not a permission mode" % (path, text))
    return value


def wanted(params: dict) -> HostFiles:
    files = []
    for entry in params["files"]:
        if entry["content"] is None or entry["template"] is not None or entry["loop"] is not None:
            raise MdError("%s: no content (templates and loops are rendered by the host_files action)" % entry["path"])
        files.append(WantFile(entry["path"], entry["content"].encode("utf-8"), mode(entry["mode"], entry["path"]),
                              entry["force"]))
    for link in params["links"]:
        if link["loop"] is not None:
            raise MdError("%s: a loop of links is expanded by the host_files action" % link["path"])
    return HostFiles(
        dirs=[WantDir(d["path"], mode(d["mode"], d["path"])) for d in params["dirs"]], files=files,
        links=[WantLink(link["path"], link["src"]) for link in params["links"]],
        prunes=[Prune(p["path"], p["pattern"], frozenset(p["keep"])) for p in params["prune"]],
        owner=params["owner"], group=params["group"])


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        changes = ensure(wanted(module.params), module.check_mode)
    except MdError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=bool(changes), changes=[dict(path=c.path, action=c.action) for c in changes])
    if module._diff:
        result["diff"] = [dict(before_header=c.path, after_header=c.path, before=c.before, after=c.after)
                          for c in changes if c.after is not None]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
