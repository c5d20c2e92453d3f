#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet report (HTML + JSON) from many hosts' md_status facts (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: md_fleet_report
short_description: Fleet-wide certificate report from the md_status facts of many hosts
version_added: "0.1.0"
description:
  - Builds one report of every host x managed domain from the C(md_status) facts that
    M(mdfleet.md.md_status) gathered on each host, most urgent first (expired, error, unreachable, drift,
    incomplete, expiring, renewing, ok), with expiry, renew-at, state, stapling and a simple expiry
    timeline (certificates per week from now).
  - Shared domains (ordered once by an issuer, imported by members) are compared across hosts, key type
    by key type - a member serving another serial than its issuer, or none, is a C(drift) row (urgent before its
    copy reaches its warn window); an issuer that gave no status is shown with what the members keep serving.
  - Writes an HTML page and a JSON file (schema in the collection's C(docs/schemas/fleet-report.schema.json)).
  - Meant to run on the controller (a play on C(localhost)); C(playbooks/fleet_status.yml) shows how.
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.md_fleet_report
attributes:
  check_mode:
    support: full
    details: Reports whether the files would change without writing them.
  diff_mode:
    support: none
notes:
  - The report contains what md_status returns (names, dates, serials, paths), nothing secret.
seealso:
  - module: mdfleet.md.md_status
"""

EXAMPLES = r"""
- name: Fleet report from the hosts of the first play
  mdfleet.md.md_fleet_report:
    statuses: "{{ hostvars | mdfleet.md.md_status_by_host(groups['webservers']) }}"
    html_path: /srv/reports/fleet-status.html
    json_path: /srv/reports/fleet-status.json
"""

RETURN = r"""
summary:
  description: Number of host x domain rows per health (C(expired), C(error), C(unreachable), ...).
  returned: always
  type: dict
unreachable_hosts:
  description: Hosts that gave no md_status (the key is not C(unreachable), which Ansible reserves).
  returned: always
  type: list
  elements: str
rows:
  description: Number of rows in the report.
  returned: always
  type: int
urgent:
  description: The rows that need attention (expired, error, unreachable, drift, incomplete, expiring), most urgent
    first, as C(host/md) strings.
  returned: always
  type: list
  elements: str
  sample: [web3/shop, web1/old.example]
drift:
  description: Members of shared domains that serve another serial than their issuer (or none), as C(host/md).
  returned: always
  type: list
  elements: str
  sample: [web3/shop]
html_path:
  description: The HTML file written (when O(html_path) is set).
  returned: when O(html_path) is set
  type: str
json_path:
  description: The JSON file written (when O(json_path) is set).
  returned: when O(json_path) is set
  type: str
"""

import json
import os

from ansible_collections.mdfleet.md.plugins.module_utils.engine_module import engine_module
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.clock import Clock
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.fsutil import PUBLIC_MODE, read_bytes, write_if_changed
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.md_fleet_report_spec import ARGUMENT_SPEC
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.status.fleet import (
    build_fleet_report,
    fleet_json,
    render_fleet_html,
)

URGENT = ("expired", "error", "unreachable", "drift", "incomplete", "expiring")


def main() -> None:
    module = engine_module(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[("html_path", "json_path")])
    params = module.params
    report = build_fleet_report(params["statuses"], Clock().now())
    outputs = []
    if params["html_path"]:
        outputs.append((params["html_path"], render_fleet_html(report, params["title"]).encode()))
    if params["json_path"]:
        outputs.append((params["json_path"], (json.dumps(fleet_json(report), indent=2) + "\n").encode()))
    changed = False
    try:
        for path, data in outputs:
            if module.check_mode:
                changed = changed or read_bytes(path) != data
                continue
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                os.makedirs(folder, 0o755)
            changed = write_if_changed(path, data, PUBLIC_MODE) or changed
    except (OSError, MdError) as exc:
        module.fail_json(msg="cannot write the fleet report: %s" % exc)
    result = dict(changed=changed, summary=report.summary(), unreachable_hosts=report.unreachable, rows=len(report.rows),
                  urgent=["%s/%s" % (r.host, r.md) for r in report.rows if r.health in URGENT],
                  drift=["%s/%s" % (m.host, c.md) for c in report.shared for m in c.behind])
    for key in ("html_path", "json_path"):
        if params[key]:
            result[key] = params[key]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
