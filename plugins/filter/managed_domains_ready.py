# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_ready: which key types of each managed domain have an active certificate."""

from __future__ import annotations

DOCUMENTATION = r"""
name: managed_domains_ready
short_description: Key types with an active certificate, per managed domain (managed_domains role)
version_added: "0.1.0"
description:
  - Takes the results of an C(ansible.builtin.stat) loop over
    C(managed_domains_domains | mdfleet.md.managed_domains | subelements('key_types')) (each result's item is
    the managed domain and a key type) and returns managed domain name -> the key types whose
    certificate file exists, in the configured order (an empty list when none exists yet).
options:
  _input:
    description: The C(results) of the registered stat loop.
    type: list
    elements: dict
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
ready: "{{ cert_stat.results | mdfleet.md.managed_domains_ready }}"
"""

RETURN = r"""
_value:
  description: Managed domain name -> list of key types with a certificate.
  type: dict
"""


def managed_domains_ready(stat_results):
    out = {}
    for result in stat_results or []:
        md, key_type = result["item"][0], result["item"][1]
        found = out.setdefault(md["name"], [])
        if (result.get("stat") or {}).get("exists"):
            found.append(key_type)
    return out


class FilterModule:
    def filters(self):
        return {"managed_domains_ready": managed_domains_ready}
