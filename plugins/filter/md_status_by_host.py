# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""md_status_by_host: {host: that host's md_status fact or None} for the fleet report.

Only the md_status fact of each host is taken, never its other variables (they may hold secrets
that must not travel as module arguments).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: md_status_by_host
short_description: The md_status fact of each host, for mdfleet.md.md_fleet_report
version_added: "0.1.0"
description:
  - Takes C(hostvars) and a list of host names and returns a dictionary host name -> that host's
    C(md_status) fact, or null for a host that has none (unreachable, or md_status failed there).
  - Only the C(md_status) fact is read; no other variable of a host is passed on.
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The host names, for example C(groups['all']) or C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
statuses: "{{ hostvars | mdfleet.md.md_status_by_host(groups['webservers']) }}"
"""

RETURN = r"""
_value:
  description: Host name -> md_status fact (a dictionary) or null.
  type: dict
"""


def md_status_by_host(hostvars, hosts):
    out = {}
    for host in hosts or []:
        try:
            facts = hostvars[host]
        except KeyError:
            out[host] = None
            continue
        try:
            value = facts.get("md_status") if hasattr(facts, "get") else None
        except Exception:  # an undefined or failing lazy variable: no status from this host
            value = None
        out[host] = value if isinstance(value, dict) else None
    return out


class FilterModule:
    def filters(self):
        return {"md_status_by_host": md_status_by_host}
