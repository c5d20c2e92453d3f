# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_domains_ready: which key types of each managed domain have an active certificate."""

from __future__ import annotations

import posixpath

DOCUMENTATION = r"""
name: managed_domains_ready
short_description: Key types with an active certificate, per managed domain (managed_domains role)
version_added: "0.1.0"
description:
  - Takes the managed domains (C(managed_domains_domains | mdfleet.md.managed_domains)) and the paths of the
    C(fullchain.pem) files that one C(ansible.builtin.find) found below the store's C(domains/) folder
    (C(<store>/domains/<md>/<key type>/fullchain.pem)), and returns managed domain name -> the key types whose
    certificate file exists, in the configured order (an empty list when none exists yet).
  - One find for every domain and key type instead of one C(stat) per pair (each costs a module run).
options:
  _input:
    description: The managed domains (each with C(name) and C(key_types)).
    type: list
    elements: dict
    required: true
  found:
    description: The paths that the find returned (C(files | map(attribute='path'))).
    type: list
    elements: str
    required: true
  store:
    description: The store (C(managed_domains_store)).
    type: str
    required: true
author:
  - mdfleet.md contributors
"""

EXAMPLES = r"""
ready: "{{ mds | mdfleet.md.managed_domains_ready(cert_find.files | map(attribute='path'), managed_domains_store) }}"
"""

RETURN = r"""
_value:
  description: Managed domain name -> list of key types with a certificate.
  type: dict
"""


def managed_domains_ready(mds, found, store):
    exists = {posixpath.normpath(path) for path in found or []}
    domains = posixpath.join(posixpath.normpath(store), "domains")
    return {md["name"]: [kt for kt in md["key_types"]
                         if posixpath.join(domains, md["name"], kt, "fullchain.pem") in exists]
            for md in mds or []}


class FilterModule:
    def filters(self):
        return {"managed_domains_ready": managed_domains_ready}
