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
attributes:
  check_mode:
    support: full
    details: Reports what would change without changing anything.
  diff_mode:
    support: full
    details: The content before and after of each file written (files over 64 KiB without it).
options:
  dirs:
    description: Folders to create (with their parents) or fix.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The folder.
        type: path
        required: true
      mode:
        description: Its mode, octal (for example V(0755)).
        type: str
        required: true
  files:
    description: Files to write when their content differs (or fix their mode and owner).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description:
          - The file. With O(files[].loop), a Python %-format applied to each item, for example V(/etc/x/%(name\)s.conf).
        type: str
        required: true
      mode:
        description: Its mode, octal (for example V(0644)).
        type: str
        required: true
      content:
        description: The content. One of O(files[].content) and O(files[].template).
        type: str
      template:
        description: A template of the role or playbook (searched like M(ansible.builtin.template)'s C(src)).
        type: str
      loop:
        description: One file per item, with the item as the variable O(files[].loop_var) of the template.
        type: list
        elements: raw
      loop_var:
        description: The name of the item's variable.
        type: str
        default: item
      force:
        description: Replace the content of an existing file; V(false) only creates it (someone else owns its content).
        type: bool
        default: true
  links:
    description: Symbolic links to create or point elsewhere (replaced atomically).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The link. With O(links[].loop), a Python %-format applied to each item.
        type: str
        required: true
      src:
        description:
          - What it points to (as written into the link). With O(links[].loop), a Python %-format applied to each item.
        type: str
        required: true
      loop:
        description: One link per item; O(links[].path) and O(links[].src) are %-formats applied to each item.
        type: list
        elements: raw
  prune:
    description: Remove files and links of a folder that match a pattern and are neither in O(files)/O(links) nor kept.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The folder (nothing happens when it does not exist).
        type: path
        required: true
      pattern:
        description: A shell pattern of the names, for example V(mdfleet-*.conf).
        type: str
        required: true
      keep:
        description: Further paths to keep.
        type: list
        elements: path
        default: []
  owner:
    description: Owner of every folder and file.
    type: str
    default: root
  group:
    description: Group of every folder and file.
    type: str
    default: root
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

PATH_MODE = dict(path=dict(type="path", required=True), mode=dict(type="str", required=True))
ARGUMENT_SPEC = dict(
    dirs=dict(type="list", elements="dict", default=[], options=PATH_MODE),
    files=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True), mode=dict(type="str", required=True), content=dict(type="str"),
        template=dict(type="str"), loop=dict(type="list", elements="raw"), loop_var=dict(type="str", default="item"),
        force=dict(type="bool", default=True))),
    links=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="str", required=True), src=dict(type="str", required=True), loop=dict(type="list", elements="raw"))),
    prune=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True), pattern=dict(type="str", required=True),
        keep=dict(type="list", elements="path", default=[]))),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
)


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
