#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a host's mdfleet store and return its md-status (thin wrapper over mdcore.status)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: md_status
short_description: Status of the managed domains in a host's mdfleet store, as mod_md's md-status
version_added: "0.1.0"
description:
  - Reads the mdfleet store of the host and returns, per managed domain, its names, state, renew and
    warn windows, renew-at, the certificate per key type (serial, issuer, validity, SHA-256 fingerprint,
    ARI certificate id, file paths), its OCSP stapling (status, validity, refresh-at, last error) and the
    renewal job (last and next run, errors, the CA's problem type and detail, a short log).
  - Keys follow Apache mod_md's md-status JSON (V(name), V(domains), V(state), V(renew-at), V(cert), V(renewal));
    every time is given as text and, in a C(<key>-unix) key beside it, as a Unix timestamp.
  - Certificate files that are only monitored (O(others), or stapled as others) are listed too, with C(static=true).
  - Never changes anything and never returns secrets (no key material, no account or EAB data).
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.md_status
  - mdfleet.md.attributes.facts
attributes:
  check_mode:
    support: full
    details: Reads only; the same answer in check mode.
  diff_mode:
    support: none
  facts:
    support: full
notes:
  - Needs read access to the store (mode 0700, owned by root), so use C(become).
seealso:
  - module: mdfleet.md.acme_md_order
  - module: mdfleet.md.ocsp_staple
"""

EXAMPLES = r"""
- name: Status of every managed domain
  mdfleet.md.md_status:
  become: true

- name: Fail when a domain is in trouble
  ansible.builtin.assert:
    that: ansible_facts.md_status.summary.error == 0 and ansible_facts.md_status.summary.expired == 0

- name: Status of two domains, with the host's config file
  mdfleet.md.md_status:
    config: /etc/mdfleet/config.json
    names: [www.example.org, shop.example.org]
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to the host.
  returned: always
  type: complex
  contains:
    md_status:
      description:
        - The md-status of the store, as C(<store>/status/md-status.json) (schema in the collection's
          C(docs/schemas/md-status.schema.json)).
        - Top level keys C(version), C(generator), C(host), C(store), C(generated), C(generated-unix),
          C(summary) (number of domains per health) and C(managed-domains), most urgent first.
        - Each managed domain has C(name), C(domains), C(state) (mod_md's 0-5) and C(state-descr), C(health)
          (C(expired), C(error), C(incomplete), C(expiring), C(renewing) or C(ok)) and C(health-descr),
          C(renew-window), C(warn-window), C(renew-at), C(warn-at), C(cert) (per key
          type C(serial), C(sha256-fingerprint), C(issuer-name), C(valid), C(ari-cert-id), C(files), C(ocsp)),
          C(renewal) (C(last-run), C(errors), C(next-run), C(last), C(log)) and C(notify) (message command).
        - A shared domain (one issuer orders it, the members import it) also has C(fleet) with C(issuer),
          C(issued-here), C(members) and C(imported) (C(from), C(at); null where it is ordered); its
          C(renewal) names the host that renews it in C(issued-by) on members.
      returned: always
      type: dict
"""

import os

from ansible_collections.mdfleet.md.plugins.module_utils.engine_module import checked_params, engine_module
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.clock import Clock
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.md_status_spec import ARGUMENT_SPEC, OPTIONS
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.status_config_spec import DEFAULT_STORE
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.status.build import build_status
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.status.json_view import KeyNames, report_json
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.statusconfig import load_status_settings
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.storeread import StoreReader


def main() -> None:
    module = engine_module(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = checked_params(module, OPTIONS)
    try:
        root, others, key_names = params["store"], list(params["others"]), params["key_names"]
        if params["config"]:
            host = load_status_settings(params["config"])  # what the status needs of it, not the domains
            root = root or host.store
            others += host.others
            key_names = key_names or host.key_names
        root = root or DEFAULT_STORE
        clock = Clock()
        report = build_status(StoreReader(root, clock), clock, names=params["names"], others=others,
                              warn_window=params["warn_window"])
    except MdError as exc:
        module.fail_json(msg=str(exc))
    if not os.path.isdir(root):
        module.warn("mdfleet store %s does not exist (yet): no managed domains" % root)
    module.exit_json(changed=False, ansible_facts=dict(md_status=report_json(report, key_names or KeyNames.MDFLEET)))


if __name__ == "__main__":
    main()
