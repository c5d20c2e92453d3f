#!/usr/bin/python
# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure a managed domain has valid ACME certificates (thin wrapper over mdcore.manager)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acme_md_order
short_description: Ensure a managed domain has valid ACME certificates for its names and key types
version_added: "0.1.0"
description:
  - Ensures that a managed domain (as Apache mod_md's C(MDomain)) has one valid certificate per key type,
    obtained from an ACME (RFC 8555) CA and kept in the mdfleet store.
  - Orders only when no certificate exists, the names changed, the CA changed, the renew window is reached,
    the certificate was reported revoked, or O(force) is set. A run with nothing due contacts no CA for orders
    (it may ask for ACME Renewal Information, see O(ari)).
  - Key types are compared as a set - reordering O(key_types) changes nothing. An added key type is ordered on
    its own (the other certificates stay); a removed one leaves the set without contacting the CA.
  - With several CAs (O(cas)), each one gets O(order_timeout) of its own when the ones before it fail.
  - New certificate sets are built in the store's staging area and activated in one atomic step; an
    interrupted order is resumed on the next run instead of creating a duplicate.
  - After a failure the domain backs off (30 s doubling up to 24 h, with jitter; bad input waits at least
    an hour) unless the input changed or O(force) is set.
  - The task fails whenever the managed domain is left without a valid certificate for every key type, also
    when no order was attempted because the domain backs off after an earlier failure; the message gives the
    last error and when the next attempt is. While a renewal backs off but the current certificates are still
    valid, the task succeeds with a warning.
extends_documentation_fragment:
  - mdfleet.md.attributes
  - mdfleet.md.options.acme_md_order
attributes:
  check_mode:
    support: full
    details: Reports whether an order would be placed, from the store alone; nothing is written.
  diff_mode:
    support: none
notes:
  - Private keys stay in the store (mode 0600 in 0700 folders); they are never returned.
seealso:
  - module: mdfleet.md.md_status
  - module: mdfleet.md.ocsp_staple
"""

EXAMPLES = r"""
- name: Certificates for www.example.org, RSA and ECDSA, served by nginx from the challenges folder
  mdfleet.md.acme_md_order:
    domains: [www.example.org, example.org]
    key_types: [p256, rsa2048]
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    contact: [mailto:hostmaster@example.org]
    agree_tos: true

- name: A wildcard and its base name through dns-persist-01, showing the TXT record to publish
  mdfleet.md.acme_md_order:
    domains: ["*.example.org", example.org]
    challenge: dns-persist-01
    dns_persist_policy: wildcard
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    agree_tos: true
  register: persist
  ignore_errors: true  # the first run fails until the record is published; it names the record

- name: The record to publish (once; it serves every renewal and every host of this account)
  ansible.builtin.debug:
    msg: "{{ persist.dns_persist_records | map(attribute='zone_line') | list }}"

- name: A wildcard and its apex through RFC 2136 dynamic updates to BIND or Knot, TSIG key from a key file
  mdfleet.md.acme_md_order:
    domains: ["*.example.org", example.org]
    challenge: dns-01
    dns_provider: rfc2136
    rfc2136:
      server: 192.0.2.53
      key_file: /etc/mdfleet/acme-update.key
    acme_directory: https://acme-v02.api.letsencrypt.org/directory
    agree_tos: true

- name: A wildcard through a DNS hook, with EAB
  mdfleet.md.acme_md_order:
    domains: ["*.example.org"]
    challenge: dns-01
    dns_command: [/usr/local/bin/dns-hook]
    acme_directory: https://acme.example.net/directory
    eab_kid: "{{ vault_eab_kid }}"
    eab_hmac_key: "{{ vault_eab_hmac }}"
"""

RETURN = r"""
md:
  description: Name of the managed domain.
  returned: always
  type: str
  sample: shop
plan:
  description: C(none), C(order) (ordered, or would order in check mode), C(backoff) or C(postponed).
  returned: always
  type: str
  sample: none
reasons:
  description: Why an order is (or would be) placed.
  returned: always
  type: list
  elements: str
  sample: [renew window reached]
renew_at:
  description: When the current set enters its renew window (ISO 8601, UTC).
  returned: when a certificate exists
  type: str
  sample: "2027-02-01T10:12:00Z"
valid:
  description: Every configured key type has an active certificate that has not expired.
  returned: always
  type: bool
  sample: true
last_error:
  description: The latest failure of this domain's renewal job, kept while it backs off (null when the last
    attempt succeeded).
  returned: always
  type: str
  sample: "CA refused validation of shop.example.org: unauthorized: ... returned 404"
retry_at:
  description: When a backing-off domain is tried again (ISO 8601, UTC), else null.
  returned: always
  type: str
  sample: "2026-12-01T11:30:00Z"
damage:
  description: What was found wrong with the active set (its set.json or one of its files, named), else
    null. A damaged set is never used as valid; it is replaced by a new order where the domain is
    ordered here.
  returned: always
  type: str
  sample: "/var/lib/mdfleet/domains/shop/p256/privkey.pem is not the file activated with the set (damaged)"
certificates:
  description: Per key type the active certificate's facts (serial, not_before, not_after,
    sha256_fingerprint, issuer, names, ocsp_url, ari_cert_id) and file paths. No key material.
  returned: always
  type: dict
  sample:
    p256:
      serial: "4A3F1C9D2E7B"
      sha256_fingerprint: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
      issuer: "/CN=Pebble Intermediate CA 6a8f1c"
      subject: "CN=shop.example.org"
      names: [shop.example.org, www.shop.example.org]
      not_before: "2026-12-01T10:12:00Z"
      not_after: "2027-03-01T10:12:00Z"
      ocsp_url: null
      ari_cert_id: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
      cert_path: /var/lib/mdfleet/domains/shop/p256/cert.pem
      chain_path: /var/lib/mdfleet/domains/shop/p256/chain.pem
      fullchain_path: /var/lib/mdfleet/domains/shop/p256/fullchain.pem
      key_path: /var/lib/mdfleet/domains/shop/p256/privkey.pem
order_urls:
  description: Per key type the URL of the order that produced the certificate.
  returned: always
  type: dict
  sample: {p256: "https://acme.example.net/order/1234/5678"}
error:
  description: What failed in this run (the task then fails with it as its message).
  returned: on failure
  type: str
  sample: null
problem:
  description: The CA's RFC 7807 problem document of a failure, when there is one.
  returned: on failure
  type: dict
  sample: {type: "urn:ietf:params:acme:error:rateLimited", detail: "too many certificates", status: 429}
account_key_thumbprint:
  description: RFC 7638 thumbprint of the new account key after O(account_key_rollover).
  returned: when O(account_key_rollover=true)
  type: str
  sample: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
dns_persist_records:
  description:
    - The dns-persist-01 TXT records to publish, one per validation name (a wildcard shares its base name's)
      and CA, with the exact value. Also returned when the module fails.
    - C(value) is null, and C(missing) says why, while the record cannot be given yet (no account yet, or a CA
      whose directory names no issuer domain name before its first challenge).
  returned: when O(challenge=dns-persist-01)
  type: list
  elements: dict
  contains:
    name:
      description: Where the record goes.
      type: str
    value:
      description: The TXT value, exactly.
      type: str
    zone_line:
      description: The record as a zone file line (values over 255 octets split into several strings).
      type: str
    identifiers:
      description: The names of the certificate this record validates.
      type: list
      elements: str
    issuer_domain_name:
      description: The CA's issuer domain name in the record.
      type: str
    issuer_source:
      description: Where the issuer domain name came from (C(config), C(challenge), C(directory issuerDomainNames),
        C(directory caaIdentities)), or C(unknown).
      type: str
    account_uri:
      description: The ACME account URL the record names.
      type: str
    ca_url:
      description: The CA's directory URL.
      type: str
    md:
      description: The managed domain.
      type: str
    type:
      description: Always C(TXT).
      type: str
    policy:
      description: C(wildcard) or null.
      type: str
    persist_until:
      description: The record's C(persistUntil) as ISO 8601, or null.
      type: str
    warnings:
      description: What needs attention (an expired C(persistUntil), ...).
      type: list
      elements: str
    missing:
      description: Why the value cannot be given yet; empty when it can.
      type: list
      elements: str
  sample:
    - name: _validation-persist.example.org
      type: TXT
      value: "ca.example.net; accounturi=https://acme.example.net/acct/1234; policy=wildcard"
      zone_line: '_validation-persist.example.org. IN TXT "ca.example.net; accounturi=https://acme.example.net/acct/1234; policy=wildcard"'
      identifiers: ["*.example.org", example.org]
      issuer_domain_name: ca.example.net
      issuer_source: challenge
      account_uri: https://acme.example.net/acct/1234
      ca_url: https://acme.example.net/directory
      md: _.example.org
      policy: wildcard
      persist_until: null
      warnings: []
      missing: []
"""

from dataclasses import asdict

from ansible_collections.mdfleet.md.plugins.module_utils.engine_module import deprecate, engine_module
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.acme.resources import ChallengeType
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.clock import Clock
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.config import md_config_from_dict
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.manager import ensure_md, no_valid_certificate
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.options.modules import (
    ACME_MD_ORDER,
    module_argument_spec,
)
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.store import Store

ARGUMENT_SPEC = module_argument_spec("acme_md_order")


def _persist_records(store, cfg):
    if cfg.challenge.type != ChallengeType.DNSPERSIST01:
        return None  # records_or_none's answer, without importing the ACME client on the idle path
    # In the payload (the builder follows imports in functions), imported only for dns-persist-01.
    from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.issuance import fetch_directory
    from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.persist_records import records_or_none

    return records_or_none(store, cfg, store.clock, lambda ca: fetch_directory(ca, cfg, store.clock))


def main() -> None:
    module = engine_module(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[("acme_directory", "cas")])
    params = module.params
    cfg = store = None
    notes: list[str] = []
    try:
        cfg = md_config_from_dict(params, options=ACME_MD_ORDER, notes=notes)
        deprecate(module, notes)
        store = Store(params["store"], Clock(), challenges_dir=params["challenges_dir"])
        thumbprint = None
        if params["account_key_rollover"] and not module.check_mode:
            from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.issuance import rollover_account

            thumbprint = rollover_account(store.setup(), cfg, store.clock)
        result = ensure_md(store, cfg, force=params["force"], check_mode=module.check_mode)
    except MdError as exc:
        records = _persist_records(store, cfg) if cfg and store else None  # the record the error names
        module.fail_json(msg=str(exc), md=params["name"] or (params["domains"] or [""])[0],
                         **({"dns_persist_records": records} if records is not None else {}))
    for note in store.notes:  # repairs made (a corrupt derived file set aside and rebuilt), as mdfleet prints them
        module.warn(note)
    facts = asdict(result)
    records = _persist_records(store, cfg)
    if records is not None:
        facts["dns_persist_records"] = records
    if not result.valid and not module.check_mode:
        module.fail_json(msg=no_valid_certificate(result), **_without_action(facts))
    if result.valid and result.last_error:
        module.warn("renewal of %s keeps failing (%s); next attempt %s; the current certificates stay in use"
                    % (result.md, result.last_error, result.retry_at or "at the next run"))
    if params["account_key_rollover"]:
        facts["changed"] = True  # a real run always replaces the key, so check mode predicts a change
        facts["account_key_thumbprint"] = thumbprint
    module.exit_json(**_without_action(facts))


def _without_action(facts: dict) -> dict:
    facts = dict(facts)
    facts["plan"] = facts.pop("action")  # Ansible's callbacks own the key "action"
    return facts


if __name__ == "__main__":
    main()
