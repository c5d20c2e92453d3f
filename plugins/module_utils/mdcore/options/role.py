"""The role's variables (roles/managed_domains): its managed domains (the domain options of
domain.py, plus ``site``), the host config keys it writes (``mirror``: the host option, under its
``role_var`` name) and its own (web server glue, systemd, install), in the sections of its
defaults/main.yml. The engine never reads these; scripts/gen_options.py writes the role's
meta/argument_specs.yml and defaults/main.yml from them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import stapling
from .domain import DOMAIN_OPTIONS
from .host import DEFAULT_CONFIG, HOST, STAPLING_OPTIONS, STATUS_OPTIONS
from .model import Kind, Option, Use, by_name, pick

STAPLING = by_name(STAPLING_OPTIONS)
STATUS = by_name(STATUS_OPTIONS)

SHORT_DESCRIPTION = "ACME certificates that renew themselves, OCSP stapling and status on a web server host"
DESCRIPTION = (
    "Installs the mdfleet engine and the C(mdfleet) command, writes C(/etc/mdfleet/config.json) from these variables "
    "(validated by C(mdfleet check-config); every key in docs/config.md), installs a hardened mdfleet.service with "
    "mdfleet.timer, and writes the web server glue for nginx, apache2 or haproxy.",
    "On a first run the missing certificates are obtained during the play; afterwards the timer renews them, "
    "refreshes the staples and reloads the web server (only after its config test passed).",
)


@dataclass(frozen=True)
class Section:
    title: str
    options: tuple[Option, ...]


def mirror(opt: Option) -> Option:
    """A host config key as the role variable that writes it (its role_var, role_default, role_note)."""
    if not opt.role_var:
        raise ValueError("%s is written by no role variable" % opt.name)
    default = opt.default if opt.role_default is None else opt.role_default
    if opt.doc_default is not None and opt.role_default is None:
        default = None
    description = opt.description + ("\n\n" + opt.role_note if opt.role_note else "")  # paragraphs
    return replace(opt, name=opt.role_var, default=default, description=description, role_note="", check=None)


SITE_OPTIONS = (
    Option("enabled", Kind.BOOL, """
        Generate the site (an http server with the challenge location, and a TLS server once the certificate
        exists). C(false): only the certificate; use its paths in your own config.""", default=True),
    Option("root", Kind.PATH, "Document root of the generated servers.", default="/var/www/html"),
    Option("extra", Kind.STR, """
        Raw configuration lines for the TLS server / virtual host (e.g. C(location / { proxy_pass ...; })).""",
           default=""),
    Option("redirect", Kind.BOOL, """
        Redirect http to https (except the ACME challenges) once a certificate exists. Default
        C(managed_domains_http_redirect)."""),
    Option("listen_addresses", Kind.LIST, "Addresses to listen on. Default C(managed_domains_listen_addresses).",
           elements=Kind.STR),
)
SITE = Option("site", Kind.DICT, "The web server site the role generates for this managed domain (nginx and apache2).",
              use=frozenset({Use.ROLE_ENTRY}), suboptions=SITE_OPTIONS)

DOMAINS = Option("managed_domains_domains", Kind.LIST, """
    The managed domains (Apache mod_md's C(MDomain)): one certificate per key type for a list of names.

    Each entry takes the options of M(mdfleet.md.acme_md_order) (they go into the host's config.json) and C(site)
    for the web server glue.

    Options not set here come from C(managed_domains_defaults), then from the engine's defaults.""",
                 elements=Kind.DICT, default=(), suboptions=pick(DOMAIN_OPTIONS, Use.ROLE_ENTRY) + (SITE,))
DEFAULTS = Option("managed_domains_defaults", Kind.DICT, """
    Options every managed domain inherits unless it sets them itself (config.json's C(defaults)).""", default={},
                  suboptions=pick(DOMAIN_OPTIONS, Use.ROLE_DEFAULTS))

SECTIONS = (
    Section("What to manage", (DOMAINS, DEFAULTS)),
    Section("Fleets (docs/fleet.md)", (
        Option("managed_domains_account_holder", Kind.STR, """
            The inventory host that holds the fleet's ACME accounts, one per CA (docs/fleet.md). Every other host with
            this setting never registers an account itself; it gets the holder's (C(playbooks/distribute.yml), also
            during deploy before the first order). The holder registers the accounts of every CA the fleet's orderers
            use, also of CAs it does not order from itself.

            Empty - every host registers its own account per CA.""",
            default=""),
        Option("managed_domains_fleet_address", Kind.STR, """
            Address where other hosts reach this host's web server when they forward the challenges of shared managed
            domains it issues; empty - the first of C(managed_domains_listen_addresses), else C(ansible_host), else the
            inventory name.""",
            default=""),
        Option("managed_domains_fleet_forward_timeout", Kind.INT, """
            Seconds a member's web server waits for the issuer when it forwards a challenge.""",
            default=10),
        Option("managed_domains_account_keys", Kind.LIST, """
            The fleet's ACME account keys from Ansible Vault instead of an account holder, one per CA; every host
            uses the same key, so the CA's newAccount returns the same account everywhere (RFC 8555 7.3.1). A host
            that already has a valid account with another key refuses it (that would be a rollover).""",
               default=(), elements=Kind.DICT, no_log=True, suboptions=(
                   Option("url", Kind.STR, "The CA's ACME directory URL.", required=True),
                   Option("eab_kid", Kind.STR, "The External Account Binding key identifier the account uses there."),
                   Option("key_pem", Kind.STR, "The account's private key (PEM).", required=True, no_log=True),
               )),
        Option("managed_domains_distribute_must_succeed", Kind.BOOL, """
            Fail the distribution (C(playbooks/distribute.yml), after it did what it could) when an issuer or
            account holder is unreachable or an import failed; the members keep serving their current sets either
            way.""", default=True),
    )),
    Section("The engine on the host", (
        Option("managed_domains_install_packages", Kind.BOOL, """
            Install the engine's packages (and the web server's, see C(managed_domains_webserver_install)) from the
            distribution.""",
            default=True),
        Option("managed_domains_python", Kind.PATH, """
            Python the mdfleet command runs with (the distribution's python3; the zipapp's shebang).""",
            default="/usr/bin/python3"),
        Option("managed_domains_lib_dir", Kind.PATH, """
            Folder of the engine, C(<dir>/mdfleet.pyz) (one zipapp built on the controller).""",
            default="/usr/lib/mdfleet"),
        Option("managed_domains_bin", Kind.PATH, """
            Path of the mdfleet command (a link to the engine's zipapp in O(managed_domains_lib_dir)).""",
            default="/usr/local/bin/mdfleet"),
        Option("managed_domains_config_file", Kind.PATH, """
            The host configuration (JSON, mode 0600: it may hold EAB secrets). Its folder also holds
            C(webglue.json).""",
            default=DEFAULT_CONFIG),
        mirror(HOST["store"]),
        mirror(HOST["challenges_dir"]),
        mirror(HOST["workers"]),
        mirror(HOST["lock_wait"]),
        # seconds only: the default service timeout adds 120 to it in Jinja ("28m" | int would be 0)
        replace(mirror(HOST["run_timeout"]), kind=Kind.FLOAT),
        mirror(HOST["message_cmd"]),
        mirror(HOST["message_timeout"]),
        mirror(STAPLING["enabled"]),
        mirror(stapling.WINDOW),
        mirror(stapling.TIMEOUT),
        mirror(stapling.PROXY),
        mirror(stapling.KEEP),
        mirror(stapling.WORKERS),
        Option("managed_domains_stapling_keep_days", Kind.FLOAT, """
            Deprecated - days to keep responses of certificates that are no longer served; use
            C(managed_domains_stapling_keep) (V(7d)) instead. When set, it wins (and the play warns).""",
               low=0, high=3650),
        mirror(stapling.OTHERS),
        mirror(STATUS["prometheus_file"]),
        mirror(STATUS["publish_dir"]),
        Option("managed_domains_status_location", Kind.STR, "URL path of the published status (ends with C(/)).",
            default="/md-status/"),
        Option("managed_domains_status_allow", Kind.LIST, """
            Addresses or networks (nginx C(allow), apache2 C(Require ip)) that may read the published status.""",
            default=('127.0.0.1', '::1'), elements=Kind.STR),
        mirror(STATUS["key_names"]),
        Option("managed_domains_first_issue", Kind.BOOL, """
            Obtain missing certificates during the play (C(mdfleet renew)), so the TLS sites come up in the same run.
            Later runs leave renewal to the timer.""",
            default=True),
        Option("managed_domains_drive_on_change", Kind.BOOL, """
            When the configuration changed, start mdfleet.service at the end of the play (without waiting), so changed
            names or key types are ordered now.""",
            default=True),
    )),
    Section("systemd service and timer", (
        Option("managed_domains_systemd", Kind.BOOL, """
            Install mdfleet.service (hardened, Type=oneshot, runs C(mdfleet drive)) and mdfleet.timer and enable the
            timer. C(false) for hosts without systemd (then run C(mdfleet drive) from elsewhere).""",
            default=True),
        Option("managed_domains_timer_on_calendar", Kind.STR, """
            The timer's C(OnCalendar=) (systemd.time(7)). Hourly is short enough for 6-day certificates.""",
            default="hourly"),
        Option("managed_domains_timer_randomized_delay", Kind.STR, """
            The timer's C(RandomizedDelaySec=) (with C(FixedRandomDelay=true): a stable offset per host spreads a
            fleet's runs).""",
            default="30min"),
        Option("managed_domains_service_timeout", Kind.STR, """
            The service's C(TimeoutStartSec=) (a systemd time span); by default C(managed_domains_run_timeout) + 120
            seconds, so that systemd never stops a run in the middle.""",
               role_default="{{ (managed_domains_run_timeout | int) + 120 }}"),
        Option("managed_domains_service_read_write_paths", Kind.LIST, """
            Further paths the hardened service may write (C(ReadWritePaths=)), e.g. for the event command.""",
            default=(), elements=Kind.STR),
        Option("managed_domains_service_capabilities", Kind.LIST, """
            The service's C(CapabilityBoundingSet=) (also bounds the web server's config test and the event command).
            The default lets root write the web server's files (C(CAP_DAC_OVERRIDE)) and the engine's listeners bind
            ports below 1024 (C(CAP_NET_BIND_SERVICE)), nothing more.""",
            default=('CAP_DAC_OVERRIDE', 'CAP_NET_BIND_SERVICE'), elements=Kind.STR),
    )),
    Section("Web server glue", (
        Option("managed_domains_webserver", Kind.STR, """
            The web server the role writes glue for: the challenge location, the TLS site with the managed certificate
            paths, staples, and reloads after its config test passed.

            C(none): only the engine, the timer and the challenges folder (serve C(managed_domains_challenges_dir) at
            C(/.well-known/acme-challenge/) yourself, or use dns-01 or standalone).""",
            default="nginx", choices=('nginx', 'apache2', 'haproxy', 'none')),
        Option("managed_domains_webserver_install", Kind.BOOL, """
            Install the web server's package (with C(managed_domains_install_packages)).""",
            default=True),
        Option("managed_domains_webserver_service", Kind.STR, """
            systemd unit of the web server that the role starts, enables and reloads; C(default) = nginx, apache2 or
            haproxy; empty = the role does not manage it (then set C(managed_domains_webserver_reload_command)).""",
            default="default"),
        Option("managed_domains_webserver_test_command", Kind.LIST, """
            The web server's config test as an argument list; [] = its default (C(nginx -t -q), C(apache2ctl
            configtest), C(haproxy -c -q -f <config>)).""",
            default=(), elements=Kind.STR),
        Option("managed_domains_webserver_reload_command", Kind.LIST, """
            The reload as an argument list, run only after the config test passed; [] = C(systemctl reload
            <service>).""",
            default=(), elements=Kind.STR),
        Option("managed_domains_listen_addresses", Kind.LIST, """
            Addresses the generated sites listen on; [] = all (IPv4). IPv6 addresses are bracketed by the role.""",
            default=(), elements=Kind.STR),
        Option("managed_domains_http_port", Kind.INT, """
            Port of the http sites (ACME http-01 validation always comes to port 80).""",
            default=80),
        Option("managed_domains_https_port", Kind.INT, "Port of the TLS sites.",
            default=443),
        Option("managed_domains_http_redirect", Kind.BOOL, """
            Generated http sites redirect to https (except the ACME challenges) once a certificate exists.""",
            default=True),
    )),
    Section("nginx", (
        Option("managed_domains_nginx_binary", Kind.PATH, "nginx binary (for the default config test).",
            default="/usr/sbin/nginx"),
        Option("managed_domains_nginx_conf_dir", Kind.PATH, """
            Folder nginx includes site files from; the role writes C(mdfleet-<md>.conf) there.""",
            default="/etc/nginx/conf.d"),
        Option("managed_domains_nginx_dir", Kind.PATH, """
            mdfleet's nginx folder: C(acme-challenge.conf), C(ocsp/) (staples the engine writes), C(stapling/) (includes
            `mdfleet webglue` writes).""",
            default="/etc/nginx/mdfleet"),
        Option("managed_domains_nginx_pid_file", Kind.PATH, """
            nginx's pid file (C(nginx -t) opens it; the hardened service may write it).""",
            default="/run/nginx.pid"),
        Option("managed_domains_nginx_log_dir", Kind.PATH, """
            nginx's log folder (C(nginx -t) opens the logs; the hardened service may write it).""",
            default="/var/log/nginx"),
    )),
    Section("apache2 (Debian layout); the role never uses mod_md for the names it manages", (
        Option("managed_domains_apache_dir", Kind.PATH, """
            apache2's configuration folder (Debian layout: sites-available, conf-available, mods-enabled).""",
            default="/etc/apache2"),
        Option("managed_domains_apache_log_dir", Kind.PATH, "apache2's log folder (the hardened service may write it).",
            default="/var/log/apache2"),
        Option("managed_domains_apache_ssl_stapling", Kind.BOOL, """
            C(SSLUseStapling on) in the TLS virtual hosts: mod_ssl fetches OCSP responses itself (apache has no
            staple-file option; needs an C(SSLStaplingCache)).""",
            default=False),
    )),
    Section("haproxy 2.6 (crt with <crt>.ocsp next to it, runtime API over the stats socket)", (
        Option("managed_domains_haproxy_binary", Kind.PATH, "haproxy binary (for the config test).",
            default="/usr/sbin/haproxy"),
        Option("managed_domains_haproxy_config", Kind.PATH, """
            haproxy's configuration; the role adds its frontends in a marked block.""",
            default="/etc/haproxy/haproxy.cfg"),
        Option("managed_domains_haproxy_cert_dir", Kind.PATH, """
            Folder of C(<md>.<keytype>.pem) (full chain + key) and C(.ocsp) files that C(mdfleet webglue) writes (mode
            0700); the TLS frontend loads it as C(crt <dir>/).""",
            default="/etc/haproxy/mdfleet-certs"),
        Option("managed_domains_haproxy_socket", Kind.STR, """
            haproxy's stats socket (C(level admin)): after a reload C(mdfleet webglue) waits on it until the new worker
            serves the new certificates (C(show ssl cert)); empty = no wait.""",
            default="/run/haproxy/admin.sock"),
        Option("managed_domains_haproxy_ocsp_update", Kind.BOOL, """
            Also send new staples over the stats socket (C(set ssl ocsp-response)).

            Off by default: haproxy 2.6 refuses a response for a certificate it loaded without a C(.ocsp) file (every
            new certificate), and C(mdfleet drive) reloads the server after staple changes anyway, which loads the
            C(.ocsp) files.""",
            default=False),
        Option("managed_domains_haproxy_acme_address", Kind.STR, """
            Address of the engine's standalone http-01 listener that haproxy forwards C(/.well-known/acme-challenge/)
            to.""",
            default="127.0.0.1"),
        Option("managed_domains_haproxy_acme_port", Kind.INT, "Port of that listener.",
            default=8402),
        Option("managed_domains_haproxy_tls_alpn_port", Kind.INT, """
            Port of the engine's tls-alpn-01 listener (on C(managed_domains_haproxy_acme_address)), for domains with
            C(challenge=tls-alpn-01).

            When any domain uses tls-alpn-01, haproxy's TLS port is a TCP frontend that sends ClientHellos offering the
            C(acme-tls/1) ALPN protocol there and everything else on to the TLS frontend (over an abstract socket, with
            the PROXY protocol, so the client address is kept).""",
            default=8403),
        Option("managed_domains_haproxy_http_extra", Kind.STR, """
            Extra lines for the generated http frontend (e.g. C(default_backend app)); empty = 404 for everything but
            the challenges.""",
            default=""),
        Option("managed_domains_haproxy_https_extra", Kind.STR, """
            Extra lines for the generated TLS frontend (e.g. C(default_backend app)); empty = 503.""",
            default=""),
    )),
)

ROLE_OPTIONS = tuple(opt for section in SECTIONS for opt in section.options)
ROLE = by_name(ROLE_OPTIONS)


__all__ = ["SECTIONS", "Section", "SHORT_DESCRIPTION", "DESCRIPTION", "ROLE_OPTIONS", "ROLE", "DOMAINS", "DEFAULTS",
           "SITE", "mirror"]
