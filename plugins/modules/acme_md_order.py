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
attributes:
  check_mode:
    support: full
    details: Reports whether an order would be placed, from the store alone; nothing is written.
  diff_mode:
    support: none
options:
  name:
    description: Name of the managed domain (folder name in the store). Defaults to the first name.
    type: str
  domains:
    description:
      - DNS names (and IP addresses) the certificate must cover.
      - Wildcards need O(challenge=dns-01), or O(challenge=dns-persist-01) with O(dns_persist_policy=wildcard).
    type: list
    elements: str
    required: true
  key_types:
    description: One certificate per key type.
    type: list
    elements: str
    default: [p256]
    choices: [rsa2048, rsa3072, rsa4096, p256, p384]
  acme_directory:
    description: ACME directory URL of the CA. Either this or O(cas) is required.
    type: str
  ca_bundle:
    description: CA bundle (PEM file) that verifies the ACME server's TLS certificate, for private CAs.
    type: path
  eab_kid:
    description: External Account Binding key identifier given by the CA.
    type: str
  eab_hmac_key:
    description: External Account Binding MAC key (base64url) given by the CA.
    type: str
  eab_alg:
    description: MAC algorithm of the External Account Binding.
    type: str
    default: HS256
    choices: [HS256, HS384, HS512]
  cas:
    description:
      - Further CAs, tried in order when the ones before (and O(acme_directory)) fail (failover).
    type: list
    elements: dict
    suboptions:
      url:
        description: ACME directory URL.
        type: str
        required: true
      ca_bundle:
        description: CA bundle that verifies this ACME server's TLS certificate.
        type: path
      eab_kid:
        description: External Account Binding key identifier.
        type: str
      eab_hmac_key:
        description: External Account Binding MAC key (base64url).
        type: str
      eab_alg:
        description: External Account Binding MAC algorithm.
        type: str
        default: HS256
        choices: [HS256, HS384, HS512]
  challenge:
    description:
      - ACME challenge type to answer.
      - C(tls-alpn-01) (RFC 8737) listens itself on O(standalone_address):O(tls_alpn_port) while an order is
        validated, for hosts where nothing else holds that port then, or behind a proxy that routes the
        C(acme-tls/1) ALPN protocol to it.
      - C(dns-persist-01) (draft-ietf-acme-dns-persist) validates with a TXT record at
        C(_validation-persist.<name>) that is published once and names the CA and the ACME account; the
        engine writes nothing and needs no DNS credentials. The record to publish is returned as
        RV(dns_persist_records) (also when the module fails) and printed by C(mdfleet dns-persist-record).
        DNS names only, no IP addresses.
    type: str
    default: http-01
    choices: [http-01, dns-01, tls-alpn-01, dns-persist-01]
  http01_mode:
    description:
      - C(webroot) writes tokens into O(challenges_dir), which the web server serves at
        C(/.well-known/acme-challenge/); C(standalone) listens itself on O(standalone_address):O(standalone_port).
    type: str
    default: webroot
    choices: [webroot, standalone]
  standalone_address:
    description: Address of the engine's own listeners (standalone http-01, tls-alpn-01).
    type: str
    default: 0.0.0.0
  standalone_port:
    description: Port of the standalone http-01 listener.
    type: int
    default: 80
  tls_alpn_port:
    description: Port of the tls-alpn-01 listener.
    type: int
    default: 443
  dns_provider:
    description:
      - How dns-01 records are placed. C(command) runs O(dns_command); C(rfc2136) sends TSIG-signed dynamic
        updates (RFC 2136) to the zone's primary as O(rfc2136) says, then waits until every authoritative
        name server serves them. See docs/dns.md.
      - C(rfc2136) needs dnspython on the host (Debian C(python3-dnspython)).
    type: str
    default: command
    choices: [command, rfc2136]
  dns_command:
    description:
      - Command (argument list, never run through a shell) called as C(<command...> setup <domain> <txt-value>)
        and C(<command...> teardown <domain> <txt-value>) for dns-01.
      - C(<domain>) is the bare name being validated, in its ASCII (IDNA) form, without C(*.) and without
        C(_acme-challenge.); the command publishes C(<txt-value>) as a TXT record at
        C(_acme-challenge.<domain>). A wildcard and its apex (C(*.example.org), C(example.org)) give two
        setup calls for the same C(<domain>) with different values, both of which must be published.
    type: list
    elements: str
  dns_propagation_seconds:
    description:
      - Seconds to wait after setting up dns-01 records before asking the CA to validate (with O(dns_provider=rfc2136)
        after the propagation check).
    type: float
    default: 0
  rfc2136:
    description:
      - Settings of O(dns_provider=rfc2136). A C(_acme-challenge) CNAME is followed (acme-dns style delegation into a
        zone of its own) and the record placed at its target.
    type: dict
    suboptions:
      server:
        description: IP address of the zone's primary (a host name is not accepted), optionally with a port (V(192.0.2.53:5353), V([2001:db8::53]:53)).
        type: str
        required: true
      port:
        description: Port of O(rfc2136.server) when it carries none.
        type: int
        default: 53
      zone:
        description: The zone to update. Found by an SOA query to the server when not given, or when the record's name is outside it.
        type: str
      key_name:
        description: Name of the TSIG key (with O(rfc2136.key_secret); with O(rfc2136.key_file) it picks one of several keys).
        type: str
      key_algorithm:
        description: TSIG algorithm. C(hmac-sha256) when not given, or what O(rfc2136.key_file) says.
        type: str
        choices: [hmac-sha256, hmac-sha384, hmac-sha512]
      key_secret:
        description: The TSIG key's secret (base64, as C(tsig-keygen) or C(keymgr -t) print it). Never printed.
        type: str
      key_file:
        description: Instead of O(rfc2136.key_secret), a key file on the host as BIND's C(tsig-keygen) or Knot's C(keymgr -t) write it.
        type: path
      ttl:
        description: TTL of the TXT records.
        type: int
        default: 60
      timeout:
        description: Seconds one DNS exchange may take.
        type: float
        default: 10
      propagation_check:
        description: Before the CA validates, ask every authoritative name server of the zone directly until all serve the records.
        type: bool
        default: true
      propagation_timeout:
        description: Seconds the propagation check may take (never beyond O(order_timeout)).
        type: float
        default: 120
      nameserver_port:
        description: Port the zone's name servers are asked on.
        type: int
        default: 53
      resolvers:
        description: Recursive resolvers (IP addresses) for names the primary does not hold. Default those of C(/etc/resolv.conf).
        type: list
        elements: str
  dns_command_timeout:
    description: Seconds the dns-01 command may run.
    type: float
    default: 60
  dns_persist_policy:
    description:
      - With O(challenge=dns-persist-01), V(wildcard) adds C(policy=wildcard) to the record, which then also
        validates C(*.<name>) (and, at CAs that allow it, subdomains of the name). Wildcard names need it.
      - V(none) validates exactly the name of the record.
    type: str
    default: none
    choices: [none, wildcard]
  dns_persist_until:
    description:
      - With O(challenge=dns-persist-01), the record's C(persistUntil) - after this time the CA no longer accepts
        the record, so publish a new one before it. Unix seconds or an ISO 8601 time or date (UTC when it names
        no zone), for example V(2027-06-30).
      - Unset, the record has no end.
    type: str
  dns_persist_issuer:
    description:
      - With O(challenge=dns-persist-01), the issuer domain name the record names, when the CA offers several.
        Must be one the CA's challenges offer.
      - Unset, the CA's directory (C(issuerDomainNames), else C(caaIdentities)) or its first challenge decides.
    type: str
  dns_persist_precheck:
    description:
      - With O(challenge=dns-persist-01), look the record up before the CA is asked to validate (a failed
        validation counts against the CA's limits) and fail with the record to publish when it is missing or
        wrong. Needs dnspython on the host (Debian C(python3-dnspython)); without it the CA checks alone.
      - Resolvers that cache a missing record (negative TTL) can make the check fail for a while after the
        record was published; point O(dns_persist_resolvers) at the zone's authoritative servers, or set
        this to V(false).
    type: bool
    default: true
  dns_persist_resolvers:
    description:
      - DNS servers the pre-check asks (IP addresses, optionally with C(:port); IPv6 as C([address]:port)).
        Empty means the host's C(/etc/resolv.conf).
    type: list
    elements: str
    default: []
  contact:
    description: Account contacts, as e-mail addresses (V(hostmaster@example.org)) or C(mailto:) URIs.
    type: list
    elements: str
    default: []
  agree_tos:
    description: Agree to the CA's terms of service when registering an account.
    type: bool
    default: false
  account_key_type:
    description: Key type of a new ACME account.
    type: str
    default: p256
    choices: [p256, p384, rsa2048, rsa3072, rsa4096]
  renew_window:
    description: When to renew, as a percentage of the lifetime left (V(33%)) or a duration before expiry (V(30d)).
    type: str
    default: 33%
  warn_window:
    description: When a certificate counts as expiring, as percentage or duration.
    type: str
    default: 10%
  preferred_chain:
    description: Common name of the preferred top issuer among the CA's alternate chains.
    type: str
  profile:
    description: ACME certificate profile to request (CAs that offer profiles), e.g. V(shortlived).
    type: str
  ari:
    description:
      - Use ACME Renewal Information (RFC 9773) where the CA offers it. The CA's suggested window is
        polled no more often than its Retry-After allows; a time is picked inside it; renewal orders
        name the certificate they replace. Never later than the warn window.
    type: bool
    default: true
  proxy:
    description: HTTP(S) proxy URL for talking to the CA.
    type: str
  request_timeout:
    description: Seconds one HTTP request to the CA may take.
    type: float
    default: 30
  order_timeout:
    description: Seconds a whole order (validation and finalization included) may take, per CA.
    type: float
    default: 300
  store:
    description: The mdfleet store folder (created with mode 0700).
    type: path
    default: /var/lib/mdfleet
  challenges_dir:
    description:
      - Folder for http-01 tokens that the web server serves at C(/.well-known/acme-challenge/).
      - Defaults to a folder beside the store, C(<store>-challenges) (V(/var/lib/mdfleet-challenges)), created
        with mode 0755. It must not be inside the store, which only root may read.
    type: path
  force:
    description: Order new certificates even when the current ones are fine.
    type: bool
    default: false
  account_key_rollover:
    description:
      - Replace the ACME account's key with a new one of type O(account_key_type) (RFC 8555 key change)
        before anything else. Always reports changed; not done in check mode.
    type: bool
    default: false
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

from ansible_collections.mdfleet.md.plugins.module_utils.engine_module import engine_module
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.clock import Clock
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.config import md_config_from_dict
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.errors import MdError
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.issuance import fetch_directory, rollover_account
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.manager import ensure_md, no_valid_certificate
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.persist_records import records_or_none
from ansible_collections.mdfleet.md.plugins.module_utils.mdcore.store import Store

KEY_TYPES = ["rsa2048", "rsa3072", "rsa4096", "p256", "p384"]

ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    domains=dict(type="list", elements="str", required=True),
    key_types=dict(type="list", elements="str", default=["p256"], choices=KEY_TYPES),
    acme_directory=dict(type="str"),
    ca_bundle=dict(type="path"),
    eab_kid=dict(type="str"),
    eab_hmac_key=dict(type="str", no_log=True),
    eab_alg=dict(type="str", default="HS256", choices=["HS256", "HS384", "HS512"]),
    cas=dict(type="list", elements="dict", options=dict(
        url=dict(type="str", required=True),
        ca_bundle=dict(type="path"),
        eab_kid=dict(type="str"),
        eab_hmac_key=dict(type="str", no_log=True),
        eab_alg=dict(type="str", default="HS256", choices=["HS256", "HS384", "HS512"]),
    )),
    challenge=dict(type="str", default="http-01", choices=["http-01", "dns-01", "tls-alpn-01", "dns-persist-01"]),
    http01_mode=dict(type="str", default="webroot", choices=["webroot", "standalone"]),
    standalone_address=dict(type="str", default="0.0.0.0"),
    standalone_port=dict(type="int", default=80),
    tls_alpn_port=dict(type="int", default=443),
    dns_provider=dict(type="str", default="command", choices=["command", "rfc2136"]),
    dns_command=dict(type="list", elements="str"),
    dns_propagation_seconds=dict(type="float", default=0),
    dns_command_timeout=dict(type="float", default=60),
    dns_persist_policy=dict(type="str", default="none", choices=["none", "wildcard"]),
    dns_persist_until=dict(type="str"),
    dns_persist_issuer=dict(type="str"),
    dns_persist_precheck=dict(type="bool", default=True),
    dns_persist_resolvers=dict(type="list", elements="str", default=[]),
    rfc2136=dict(type="dict", options=dict(
        server=dict(type="str", required=True),
        port=dict(type="int", default=53),
        zone=dict(type="str"),
        key_name=dict(type="str"),
        key_algorithm=dict(type="str", choices=["hmac-sha256", "hmac-sha384", "hmac-sha512"]),
        key_secret=dict(type="str", no_log=True),
        key_file=dict(type="path"),
        ttl=dict(type="int", default=60),
        timeout=dict(type="float", default=10),
        propagation_check=dict(type="bool", default=True),
        propagation_timeout=dict(type="float", default=120),
        nameserver_port=dict(type="int", default=53),
        resolvers=dict(type="list", elements="str"),
    ), mutually_exclusive=[("key_secret", "key_file")], required_one_of=[("key_secret", "key_file")]),
    contact=dict(type="list", elements="str", default=[]),
    agree_tos=dict(type="bool", default=False),
    account_key_type=dict(type="str", default="p256", choices=["p256", "p384", "rsa2048", "rsa3072", "rsa4096"]),
    renew_window=dict(type="str", default="33%"),
    warn_window=dict(type="str", default="10%"),
    preferred_chain=dict(type="str"),
    profile=dict(type="str"),
    ari=dict(type="bool", default=True),
    proxy=dict(type="str"),
    request_timeout=dict(type="float", default=30),
    order_timeout=dict(type="float", default=300),
    store=dict(type="path", default="/var/lib/mdfleet"),
    challenges_dir=dict(type="path"),
    force=dict(type="bool", default=False),
    account_key_rollover=dict(type="bool", default=False),
)


def _persist_records(store, cfg):
    return records_or_none(store, cfg, store.clock, lambda ca: fetch_directory(ca, cfg, store.clock))


def main() -> None:
    module = engine_module(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[("acme_directory", "cas")])
    params = module.params
    cfg = store = None
    try:
        cfg = md_config_from_dict(params)
        store = Store(params["store"], Clock(), challenges_dir=params["challenges_dir"])
        thumbprint = None
        if params["account_key_rollover"] and not module.check_mode:
            thumbprint = rollover_account(store.setup(), cfg, store.clock)
        result = ensure_md(store, cfg, force=params["force"], check_mode=module.check_mode)
    except MdError as exc:
        records = _persist_records(store, cfg) if cfg and store else None  # the record the error names
        module.fail_json(msg=str(exc), md=params["name"] or (params["domains"] or [""])[0],
                         **({"dns_persist_records": records} if records is not None else {}))
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
