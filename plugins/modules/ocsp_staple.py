#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refresh OCSP stapling for a host's certificates (thin wrapper over mdcore.ocsp)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ocsp_staple
short_description: Keep OCSP responses for a host's certificates fresh, verified and where web servers read them
version_added: "0.1.0"
description:
  - Fetches, verifies and persists OCSP responses for the certificates of the mdfleet store (the managed
    domains) and for other certificate files (as Apache mod_md's C(MDStapleOthers)), and writes them where
    web servers read them - a DER file for nginx C(ssl_stapling_file), C(<crt>.ocsp) for haproxy - and
    pushes them to haproxy's runtime API (C(set ssl ocsp-response)) when a stats socket is given.
  - A response is verified before it is used - signed by the issuer or a delegated responder certificate
    (id-kp-OCSPSigning) the issuer signed, for this certificate, thisUpdate not in the future, nextUpdate
    present and ahead - and it never replaces a stored, still valid response with a rejected, older or
    worse one. A responder outage therefore does not stop stapling until the stored response expires.
  - A response is refreshed when the rest of its validity falls below O(window) (a share of its lifetime,
    or a duration). Failures are retried with exponential backoff and jitter (30 s doubling up to 24 h, and
    always several times before a stored response expires). A run with nothing due contacts no responder.
  - Certificates without an OCSP responder URL (every Let's Encrypt certificate since May 2025) are
    reported with status C(no-responder); that is not an error.
  - A C(revoked) answer is stapled (it is the truth), reported as an error, and recorded in the store with
    C(renew_required) (and C(new_key_required) for keyCompromise) for the renewal logic.
  - Failures of single certificates are reported in RV(staples), they do not fail the task; the task fails
    for problems of the whole run (store not usable, locked, bad options).
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.ocsp_staple
attributes:
  check_mode:
    support: full
    details: Reports which certificates would be fetched and which files would change, from the store alone.
      Nothing is fetched or written, the store is neither created nor locked.
  diff_mode:
    support: none
notes:
  - Web servers that read the staple file only at start (nginx) need a reload when the task reports a change; haproxy
    gets new responses over its runtime API without a reload.
  - Runs on the managed host; needs python3-cryptography (38 or newer).
seealso:
  - module: mdfleet.md.acme_md_order
  - module: mdfleet.md.md_status
"""

EXAMPLES = r"""
- name: Refresh stapling for every managed domain of the host
  mdfleet.md.ocsp_staple:
  register: stapling
  notify: reload nginx
  # changed only when a staple file changed

- name: Managed domains for haproxy, pushing new responses over its stats socket
  mdfleet.md.ocsp_staple:
    haproxy_ocsp_files: true
    haproxy_socket: /run/haproxy/admin.sock

- name: Also staple a certificate mdfleet does not manage (mod_md's MDStapleOthers)
  mdfleet.md.ocsp_staple:
    certificates:
      - cert: /etc/ssl/legacy/shop.pem
        chain: /etc/ssl/legacy/shop-chain.pem
        staple_file: /etc/nginx/ocsp/shop.der
    window: 2d
    timeout: 5
    proxy: http://proxy.internal:3128

- name: Only one domain, its nginx staple file in the web server's folder
  mdfleet.md.ocsp_staple:
    domains: [www.example.org]
    domain_options:
      www.example.org:
        staple_file: /etc/nginx/ocsp/www.example.org.der

- name: What would be fetched?
  mdfleet.md.ocsp_staple:
  check_mode: true
  register: plan
"""

RETURN = r"""
staples:
  description: One entry per certificate, in order (managed certificates first).
  returned: always
  type: list
  elements: dict
  sample:
    - name: shop/p256
      cert_path: /var/lib/mdfleet/domains/shop/p256/cert.pem
      md: shop
      key_type: p256
      action: fetched
      status: good
      responder: "http://ocsp.example.net/"
      this_update: "2026-12-01T10:00:00Z"
      next_update: "2026-12-08T10:00:00Z"
      refresh_at: "2026-12-05T23:31:12Z"
      fetched_at: "2026-12-01T10:05:00Z"
      next_retry: null
      errors: 0
      error: null
      last_error: null
      output_errors: []
      warnings: []
      revocation_time: null
      revocation_reason: null
      renew_required: false
      new_key_required: false
      store_file: null
      files: [/etc/nginx/mdfleet/ocsp/shop.p256.der]
      changed_files: [/etc/nginx/mdfleet/ocsp/shop.p256.der]
      haproxy_updated: false
      changed: true
  contains:
    name:
      description: C(<domain>/<key type>) for managed certificates, else the certificate path.
      type: str
    cert_path:
      description: The certificate file.
      type: str
    md:
      description: Managed domain (null for other certificates).
      type: str
    key_type:
      description: Key type of the managed certificate.
      type: str
    action:
      description: C(fetched), C(kept) (fresh enough), C(failed), C(backoff) (waiting to retry),
        C(would-fetch) (check mode) or C(skipped) (no responder).
      type: str
    status:
      description: C(good), C(revoked), C(unknown) (what the served response says), C(no-responder),
        C(none) (no response yet) or C(expired) (the stored response outlived an outage).
      type: str
    responder:
      description: The OCSP responder URL used.
      type: str
    this_update:
      description: thisUpdate of the stored response (ISO 8601, UTC).
      type: str
    next_update:
      description: nextUpdate of the stored response (ISO 8601, UTC).
      type: str
    refresh_at:
      description: When the stored response enters its refresh window.
      type: str
    fetched_at:
      description: When the stored response was fetched.
      type: str
    next_retry:
      description: When a failed refresh is retried (null without failures).
      type: str
    errors:
      description: Failures in a row.
      type: int
    error:
      description: What failed in this run.
      type: str
    last_error:
      description: The latest failure, kept until a response is accepted (or the revocation notice).
      type: str
    output_errors:
      description: Staple files or haproxy updates that failed.
      type: list
      elements: str
    warnings:
      description:
        - What needs no action now, for example haproxy refusing a runtime update for a certificate it
          loaded without a C(.ocsp) file (it reads the written file at its next reload).
      type: list
      elements: str
    revocation_time:
      description: When the certificate was revoked.
      type: str
    revocation_reason:
      description: RFC 5280 reason, e.g. C(keyCompromise).
      type: str
    renew_required:
      description: The certificate is revoked and must be replaced.
      type: bool
    new_key_required:
      description: Revoked for keyCompromise; the replacement needs a new key.
      type: bool
    store_file:
      description:
        - The copy of the response in the store, kept for certificates without a staple file of their
          own (and kept in step where one exists). V(null) otherwise; the response is in the store's
          staple book either way.
      type: str
    files:
      description: The staple files configured for this certificate.
      type: list
      elements: str
    changed_files:
      description: Files written in this run (in check mode, that would be written).
      type: list
      elements: str
    haproxy_updated:
      description: haproxy accepted the response over its runtime API in this run.
      type: bool
    changed:
      description: Whether this certificate's staple changed.
      type: bool
errors:
  description: Number of certificates whose refresh failed in this run.
  returned: always
  type: int
  sample: 0
renew_required:
  description: Names of certificates reported revoked (renewal needed).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.mdfleet.md.plugins.module_utils.engine_module import checked_params, engine_module
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.clock import Clock
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.ocsp.config import StaplingConfig
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.ocsp.refresh import staple_store, unmatched_selection
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.modules import OCSP_STAPLE, module_argument_spec
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.store import Store

ARGUMENT_SPEC = module_argument_spec("ocsp_staple")


def main() -> None:
    module = engine_module(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = checked_params(module, OCSP_STAPLE)
    try:
        config = StaplingConfig(window=p["window"], timeout=p["timeout"], proxy=p["proxy"], method=p["method"],
                                workers=p["workers"], keep_seconds=p["keep"], haproxy_socket=p["haproxy_socket"])
        clock = Clock()
        store = Store(p["store"], clock)
        results = staple_store(store, clock, managed=p["managed"], domains=p["domains"],
                               others=p["certificates"], overrides=p["domain_options"],
                               haproxy_ocsp_files=p["haproxy_ocsp_files"], config=config,
                               check_mode=module.check_mode, lock_wait=p["lock_wait"])
        warnings = unmatched_selection(store, p["domains"] if p["managed"] else None,
                                       p["domain_options"] if p["managed"] else None)
    except MdError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings + store.notes:  # store.notes: corrupt files set aside and rebuilt, as mdfleet says
        module.warn(warning)
    module.exit_json(changed=any(r.changed for r in results), staples=[r.to_dict() for r in results],
                     errors=sum(1 for r in results if r.error),
                     renew_required=[r.name for r in results if r.renew_required])


if __name__ == "__main__":
    main()
