"""The options of a managed domain (mod_md's MDomain): acme_md_order's parameters, config.json's
"defaults" and "domains" entries, the role's managed_domains_defaults and managed_domains_domains."""

from __future__ import annotations

from .defaults import DEFAULT_RENEW_WINDOW, DEFAULT_WARN_WINDOW
from .model import Kind, Option, Use, by_name, pick
from .rules import acme_url, http_url

KEY_TYPES = ("p256", "p384", "rsa2048", "rsa3072", "rsa4096")
MOD_MD_KEY_TYPES = ("rsa", "secp256r1", "secp384r1")  # mod_md's MDPrivateKeys names (keytypes.ALIASES)
DEFAULT_KEY_TYPES = ("p256",)
DEFAULT_ACCOUNT_KEY_TYPE = "p256"
EAB_ALGS = ("HS256", "HS384", "HS512")
DEFAULT_EAB_ALG = "HS256"
CHALLENGES = ("http-01", "dns-01", "tls-alpn-01", "dns-persist-01")
ENTRY_ONLY = frozenset({Use.MODULE, Use.HOST_ENTRY, Use.ROLE_ENTRY})
FLEET_ONLY = frozenset({Use.HOST_DEFAULTS, Use.HOST_ENTRY, Use.ROLE_ENTRY})
TIMEOUT = dict(positive=True, high=86400)

CA_OPTIONS = (
    Option("url", Kind.STR, "ACME directory URL (V(https://); V(http://) only for a CA on a loopback address).",
           required=True, check=acme_url),
    Option("ca_bundle", Kind.PATH, "CA bundle that verifies this ACME server's TLS certificate."),
    Option("eab_kid", Kind.STR, "External Account Binding key identifier."),
    Option("eab_hmac_key", Kind.STR, "External Account Binding MAC key (base64url).", no_log=True),
    Option("eab_alg", Kind.STR, "External Account Binding MAC algorithm.", default=DEFAULT_EAB_ALG, choices=EAB_ALGS),
)

RFC2136_OPTIONS = (
    Option("server", Kind.STR, """
        IP address of the zone's primary (a host name is not accepted), optionally with a port
        (V(192.0.2.53:5353), V([2001:db8::53]:53)).""", required=True),
    Option("port", Kind.INT, "Port of O(rfc2136.server) when it carries none.", default=53, low=1, high=65535),
    Option("zone", Kind.STR, """
        The zone to update. Found by an SOA query to the server when not given, or when the record's name is
        outside it.""", empty=True),
    Option("key_name", Kind.STR, """
        Name of the TSIG key (with O(rfc2136.key_secret); with O(rfc2136.key_file) it picks one of several
        keys)."""),
    Option("key_algorithm", Kind.STR, """
        TSIG algorithm. C(hmac-sha256) when not given, or what O(rfc2136.key_file) says.""",
           choices=("hmac-sha256", "hmac-sha384", "hmac-sha512"), fold_case=True),
    Option("key_secret", Kind.STR, """
        The TSIG key's secret (base64, as C(tsig-keygen) or C(keymgr -t) print it).""",
           no_log=True, role_note="The role's config task is then no_log."),
    Option("key_file", Kind.PATH, """
        Instead of O(rfc2136.key_secret), a key file on the host as BIND's C(tsig-keygen) or Knot's
        C(keymgr -t) write it."""),
    Option("ttl", Kind.INT, "TTL of the TXT records.", default=60, low=1, high=86400),
    Option("timeout", Kind.DURATION, "How long one DNS exchange may take (seconds, or a duration).", default=10,
           low=0.1, high=600),
    Option("propagation_check", Kind.BOOL, """
        Before the CA validates, ask every authoritative name server of the zone directly until all serve
        the records.""", default=True),
    Option("propagation_timeout", Kind.DURATION, """
        How long the propagation check may take (seconds, or a duration; never beyond O(order_timeout)).""",
           default=120, low=1, high=86400),
    Option("nameserver_port", Kind.INT, "Port the zone's name servers are asked on.", default=53, low=1, high=65535),
    Option("resolvers", Kind.LIST, """
        Recursive resolvers (IP addresses) for names the primary does not hold. Default those of
        C(/etc/resolv.conf).""", elements=Kind.STR, default=()),
)

# merged key by key over the defaults' (config.json); the module's rule for the TSIG key
RFC2136_EXTRA = {"merge": True, "mutually_exclusive": [("key_secret", "key_file")],
                 "required_one_of": [("key_secret", "key_file")]}

DOMAIN_OPTIONS = (
    Option("name", Kind.STR, "Name of the managed domain (folder name in the store). Defaults to the first name.",
           use=ENTRY_ONLY),
    Option("domains", Kind.LIST, """
        DNS names (and IP addresses) the certificate must cover.

        Wildcards need O(challenge=dns-01), or O(challenge=dns-persist-01) with O(dns_persist_policy=wildcard).""",
           elements=Kind.STR, required=True, use=ENTRY_ONLY),
    Option("key_types", Kind.LIST, """
        One certificate per key type. Their order does not matter; an added key type is ordered on its own.

        mod_md's names are accepted too - V(rsa) (2048 bits), V(secp256r1), V(secp384r1) - and stored as
        V(rsa2048), V(p256), V(p384).""", elements=Kind.STR, default=DEFAULT_KEY_TYPES,
           choices=KEY_TYPES + MOD_MD_KEY_TYPES, fold_case=True),
    Option("acme_directory", Kind.STR, """
        ACME directory URL of the CA (V(https://); V(http://) only for a CA on a loopback address). Either this
        or O(cas) is required.""", check=acme_url),
    Option("ca_bundle", Kind.PATH, "CA bundle (PEM file) that verifies the ACME server's TLS certificate, for private "
                                   "CAs."),
    Option("eab_kid", Kind.STR, "External Account Binding key identifier given by the CA."),
    Option("eab_hmac_key", Kind.STR, "External Account Binding MAC key (base64url) given by the CA.", no_log=True),
    Option("eab_alg", Kind.STR, "MAC algorithm of the External Account Binding.", default=DEFAULT_EAB_ALG,
           choices=EAB_ALGS),
    Option("cas", Kind.LIST, """
        Further CAs, tried in order when the ones before (and O(acme_directory)) fail (failover).""",
           elements=Kind.DICT, suboptions=CA_OPTIONS),
    Option("challenge", Kind.STR, """
        ACME challenge type to answer.

        C(tls-alpn-01) (RFC 8737) listens itself on O(standalone_address):O(tls_alpn_port) while an order is
        validated, for hosts where nothing else holds that port then, or behind a proxy that routes the
        C(acme-tls/1) ALPN protocol to it.

        C(dns-persist-01) (draft-ietf-acme-dns-persist) validates with a TXT record at C(_validation-persist.<name>)
        that is published once and names the CA and the ACME account; the engine writes nothing and needs no DNS
        credentials. C(mdfleet dns-persist-record) prints the record to publish (M(mdfleet.md.acme_md_order)
        returns it as C(dns_persist_records), also when it fails). DNS names only, no IP addresses.""",
           default="http-01", choices=CHALLENGES),
    Option("http01_mode", Kind.STR, """
        C(webroot) writes tokens into the challenges folder, which the web server serves at
        C(/.well-known/acme-challenge/); C(standalone) listens itself on O(standalone_address):O(standalone_port).""",
           default="webroot", choices=("webroot", "standalone"), role_note="""
        With C(managed_domains_webserver=haproxy) the role's default is C(standalone), listening on
        C(managed_domains_haproxy_acme_address) and C(managed_domains_haproxy_acme_port)."""),
    Option("standalone_address", Kind.STR, "Address of the engine's own listeners (standalone http-01, tls-alpn-01).",
           default="0.0.0.0"),
    Option("standalone_port", Kind.INT, "Port of the standalone http-01 listener.", default=80, low=1, high=65535),
    Option("tls_alpn_port", Kind.INT, "Port of the tls-alpn-01 listener.", default=443, low=1, high=65535),
    Option("dns_provider", Kind.STR, """
        How dns-01 records are placed. C(command) runs O(dns_command); C(rfc2136) sends TSIG-signed dynamic updates
        (RFC 2136) to the zone's primary as O(rfc2136) says, then waits until every authoritative name server serves
        them. See docs/dns.md.

        C(rfc2136) needs dnspython on the host (Debian C(python3-dnspython)).""",
           default="command", choices=("command", "rfc2136"),
           role_note="The role installs python3-dnspython where a managed domain uses C(rfc2136)."),
    Option("dns_command", Kind.ARGV, """
        Command (argument list, never run through a shell) called as C(<command...> setup <domain> <txt-value>) and
        C(<command...> teardown <domain> <txt-value>) for dns-01.

        C(<domain>) is the bare name being validated, in its ASCII (IDNA) form, without C(*.) and without
        C(_acme-challenge.); the command publishes C(<txt-value>) as a TXT record at C(_acme-challenge.<domain>). A
        wildcard and its apex (C(*.example.org), C(example.org)) give two setup calls for the same C(<domain>) with
        different values, both of which must be published.""", default=()),
    Option("dns_propagation_seconds", Kind.DURATION, """
        How long to wait after setting up dns-01 records before asking the CA to validate (seconds, or a duration;
        with O(dns_provider=rfc2136) after the propagation check).""", default=0, low=0, high=86400),
    Option("rfc2136", Kind.DICT, """
        Settings of O(dns_provider=rfc2136). A C(_acme-challenge) CNAME is followed (acme-dns style delegation into
        a zone of its own) and the record placed at its target.

        In config.json a domain's O(rfc2136) keys override those of the defaults one by one.""",
           suboptions=RFC2136_OPTIONS, extra=RFC2136_EXTRA),
    Option("dns_command_timeout", Kind.DURATION, "How long the dns-01 command may run (seconds, or a duration).",
           default=60, **TIMEOUT),
    Option("dns_persist_policy", Kind.STR, """
        With O(challenge=dns-persist-01), V(wildcard) adds C(policy=wildcard) to the record, which then also
        validates C(*.<name>) (and, at CAs that allow it, subdomains of the name). Wildcard names need it.

        V(none) validates exactly the name of the record.""", default="none", choices=("none", "wildcard")),
    Option("dns_persist_until", Kind.RAW, """
        With O(challenge=dns-persist-01), the record's C(persistUntil) - after this time the CA no longer accepts
        the record, so publish a new one before it. Unix seconds or an ISO 8601 time or date (UTC when it names no
        zone), for example V(2027-06-30).

        Unset, the record has no end."""),
    Option("dns_persist_issuer", Kind.STR, """
        With O(challenge=dns-persist-01), the issuer domain name the record names, when the CA offers several. Must
        be one the CA's challenges offer.

        Unset, the CA's directory (C(issuerDomainNames), else C(caaIdentities)) or its first challenge decides.""",
           empty=True),
    Option("dns_persist_precheck", Kind.BOOL, """
        With O(challenge=dns-persist-01), look the record up before the CA is asked to validate (a failed validation
        counts against the CA's limits) and fail with the record to publish when it is missing or wrong. Needs
        dnspython on the host (Debian C(python3-dnspython)); without it the CA checks alone.

        Resolvers that cache a missing record (negative TTL) can make the check fail for a while after the record
        was published; point O(dns_persist_resolvers) at the zone's authoritative servers, or set this to V(false).""",
           default=True, role_note="The role installs python3-dnspython where a managed domain uses dns-persist-01."),
    Option("dns_persist_resolvers", Kind.LIST, """
        DNS servers the pre-check asks (IP addresses, optionally with C(:port); IPv6 as C([address]:port)). Empty
        means the host's C(/etc/resolv.conf).""", default=(), elements=Kind.STR),
    Option("contact", Kind.LIST, """
        Account contacts, as e-mail addresses (V(hostmaster@example.org), as mod_md's C(MDContactEmail)) or
        C(mailto:) URIs.""", default=(), elements=Kind.STR),
    Option("agree_tos", Kind.BOOL, "Agree to the CA's terms of service when registering an account.", default=False),
    Option("account_key_type", Kind.STR, "Key type of a new ACME account.", default=DEFAULT_ACCOUNT_KEY_TYPE,
           choices=KEY_TYPES),
    Option("renew_window", Kind.WINDOW, """
        When to renew, as a percentage of the lifetime left (V(33%)) or a duration before expiry (V(30d), V(12h)).
        A bare number is read as days (mod_md's spelling), which is deprecated.""", default=DEFAULT_RENEW_WINDOW),
    Option("warn_window", Kind.WINDOW, """
        When a certificate counts as expiring (the C(expiring) event), as a percentage or a duration like
        O(renew_window).""", default=DEFAULT_WARN_WINDOW),
    Option("preferred_chain", Kind.STR, "Common name of the preferred top issuer among the CA's alternate chains.",
           empty=True),
    Option("profile", Kind.STR, "ACME certificate profile to request (CAs that offer profiles), e.g. V(shortlived).",
           empty=True),
    Option("ari", Kind.BOOL, """
        Use ACME Renewal Information (RFC 9773) where the CA offers it. The CA's suggested window is polled no more
        often than its Retry-After allows; a time is picked inside it; renewal orders name the certificate they
        replace. Never later than the warn window.""", default=True),
    Option("proxy", Kind.STR, "HTTP(S) proxy URL for talking to the CA.", empty=True, check=http_url),
    Option("request_timeout", Kind.DURATION, "How long one HTTP request to the CA may take (seconds, or a duration).",
           default=30, positive=True, high=3600),
    Option("order_timeout", Kind.DURATION, """
        How long a whole order (validation and finalization included) may take, per CA (seconds, or a
        duration).""", default=300, **TIMEOUT),
    Option("issuer", Kind.STR, """
        Makes this a shared managed domain (docs/fleet.md) - the inventory host that orders it. Every other host
        that declares it imports the issuer's complete set (C(playbooks/distribute.yml)) and never orders it;
        its web server forwards the http-01 challenges of these names to the issuer.

        Declare it once, the same way for every member (group_vars of the group that serves it); different
        issuers, names or key types on two hosts fail the play. An issuer that does not declare it itself
        orders it anyway and only answers its challenges.""", use=FLEET_ONLY),
    Option("members", Kind.LIST, """
        The hosts that serve a shared managed domain (informational, for status). Default - the hosts of the
        inventory that declare it.""", elements=Kind.STR, default=(), use=FLEET_ONLY),
)

DOMAIN = by_name(DOMAIN_OPTIONS)
MODULE_DOMAIN_OPTIONS = pick(DOMAIN_OPTIONS, Use.MODULE)
HOST_DEFAULTS_OPTIONS = pick(DOMAIN_OPTIONS, Use.HOST_DEFAULTS)
HOST_ENTRY_OPTIONS = pick(DOMAIN_OPTIONS, Use.HOST_ENTRY)
# What an "accounts" entry of the host config takes (a CA, and how to register there).
ACCOUNT_KEYS = ("contact", "agree_tos", "account_key_type", "proxy", "request_timeout")
ACCOUNT_OPTIONS = CA_OPTIONS + tuple(DOMAIN[k] for k in ACCOUNT_KEYS)

__all__ = ["DOMAIN_OPTIONS", "DOMAIN", "CA_OPTIONS", "RFC2136_OPTIONS", "ACCOUNT_OPTIONS", "KEY_TYPES",
           "MOD_MD_KEY_TYPES", "DEFAULT_KEY_TYPES", "DEFAULT_ACCOUNT_KEY_TYPE", "DEFAULT_EAB_ALG",
           "DEFAULT_RENEW_WINDOW", "DEFAULT_WARN_WINDOW",
           "MODULE_DOMAIN_OPTIONS", "HOST_DEFAULTS_OPTIONS", "HOST_ENTRY_OPTIONS"]
