"""The host's configuration file, /etc/mdfleet/config.json, key by key (hostconfig.py checks a file
against this tree; docs/config.md is generated from it). ``role_var`` names the role variable that
writes a key (roles/managed_domains/vars/main.yml)."""

from __future__ import annotations

from . import stapling
from .defaults import KEY_NAMES
from .domain import ACCOUNT_OPTIONS, HOST_DEFAULTS_OPTIONS, HOST_ENTRY_OPTIONS
from .model import Kind, Option, by_name

DEFAULT_STORE = "/var/lib/mdfleet"
DEFAULT_CONFIG = "/etc/mdfleet/config.json"  # where mdfleet reads it (--config), the role writes it


STAPLING_OPTIONS = (
    Option("enabled", Kind.BOOL, """
        Fetch, verify and keep OCSP responses for the managed certificates (and O(stapling.others)) and hand them
        to the web server.""", default=True, role_var="managed_domains_stapling_enabled"),
    stapling.WINDOW, stapling.TIMEOUT, stapling.PROXY, stapling.KEEP, stapling.WORKERS,
    Option("keep_days", Kind.FLOAT, "Deprecated - the number of days of O(stapling.keep); use that instead.", low=0,
           high=3650),
    stapling.OTHERS, stapling.HAPROXY_SOCKET,
    Option("nginx_dir", Kind.PATH, """
        Where nginx reads C(ssl_stapling_file) - the engine writes C(<dir>/<md>.<keytype>.der) there (the role sets
        it for nginx)."""),
    stapling.HAPROXY_OCSP_FILES,
)

RELOAD_OPTIONS = (
    Option("test_command", Kind.ARGV, """
        The web server's own config test; the reload runs only after it passed (a broken config never takes a
        running server down). Required with O(reload.reload_command).""", default=()),
    Option("reload_command", Kind.ARGV, "The web server's reload, run after new certificates or staples.",
           default=()),
    Option("timeout", Kind.DURATION, "How long each of the two may run (seconds, or a duration).", default=60,
           positive=True, high=3600),
)

STATUS_OPTIONS = (
    Option("prometheus_file", Kind.PATH, """
        Also write the Prometheus text here (node_exporter's textfile collector); unset - only in the store's
        status folder.""", empty=True, role_var="managed_domains_prometheus_file", role_default=""),
    Option("publish_dir", Kind.PATH, """
        A folder that gets a world-readable copy of the status views (C(md-status.json), C(index.html),
        C(domains/<md>.json)) at every run, as Apache's mod_md serves md-status; the store's own status folder is
        root-only. Must be outside the store. Unset - not published.""", empty=True,
           role_var="managed_domains_status_publish_dir", role_default="", role_note="""
        With nginx or apache2 the role serves it at C(managed_domains_status_location) to
        C(managed_domains_status_allow) only (haproxy serves no files - point another server at the folder)."""),
    Option("key_names", Kind.STR, """
        How the JSON views name certificates - V(mdfleet) (C(p256), C(rsa2048)) or V(mod_md) (C(secp256r1),
        C(rsa)), so that scripts written for mod_md's md-status work unchanged.""", default="mdfleet",
           choices=KEY_NAMES, role_var="managed_domains_status_key_names"),
)

HOST_OPTIONS = (
    Option("comment", Kind.STR, "Free text (the role says that the file is managed by Ansible).", empty=True),
    Option("store", Kind.PATH, "The store: accounts, certificates, keys, staples, status (mode 0700, root only).",
           default=DEFAULT_STORE, role_var="managed_domains_store"),
    Option("challenges_dir", Kind.PATH, """
        Where http-01 tokens are written (mode 0755, outside the store - the web server's workers serve them at
        C(/.well-known/acme-challenge/)).""", doc_default="<store>-challenges",
           role_var="managed_domains_challenges_dir", role_default="/var/lib/mdfleet-challenges"),
    Option("workers", Kind.INT, "Managed domains renewed in parallel (staples: O(stapling.workers)).", default=4, low=1,
           high=64, role_var="managed_domains_workers"),
    Option("lock_wait", Kind.DURATION, """
        How long a run waits for the store lock held by another run (seconds, or a duration; never beyond what is
        left of O(run_timeout)).""", default=600, low=0, high=86400, role_var="managed_domains_lock_wait"),
    Option("run_timeout", Kind.DURATION, """
        The longest one run (C(mdfleet drive), C(renew), C(staple)) may take, its wait for the store lock included
        (seconds, or a duration); orders and stapling end within it. Keep O(lock_wait) < O(run_timeout) < the
        service's C(TimeoutStartSec=), so that systemd never stops a run in the middle.""", default=1680,
           positive=True, high=7 * 86400, role_var="managed_domains_run_timeout", role_note="""
        The role takes seconds only (a number): its default C(managed_domains_service_timeout) is this plus 120
        seconds."""),
    Option("defaults", Kind.DICT, "Options every managed domain inherits unless it sets them itself.",
           suboptions=HOST_DEFAULTS_OPTIONS),
    Option("domains", Kind.LIST, "The managed domains (mod_md's C(MDomain)): one certificate per key type for a list "
                                 "of names.", elements=Kind.DICT, suboptions=HOST_ENTRY_OPTIONS, required=True),
    Option("message_cmd", Kind.ARGV, """
        Event command (mod_md's C(MDMessageCmd)) as an argument list, run as C(<argv...> <event> <md-name>); empty -
        none.""", default=(), role_var="managed_domains_message_cmd"),
    Option("message_timeout", Kind.DURATION, "How long the event command may run (seconds, or a duration).",
           default=30, positive=True, high=3600, role_var="managed_domains_message_timeout"),
    Option("stapling", Kind.DICT, "OCSP stapling.", suboptions=STAPLING_OPTIONS),
    Option("reload", Kind.DICT, "The web server's config test and reload, as argument lists (never a shell).",
           suboptions=RELOAD_OPTIONS),
    Option("status", Kind.DICT, "Status files besides those in the store's status folder.", suboptions=STATUS_OPTIONS),
    Option("host", Kind.STR, """
        This host's name in the fleet (its inventory name; what O(domains[].issuer) of shared domains names).
        Unset - the host's FQDN."""),
    Option("account_holder", Kind.STR, """
        The fleet host that holds the ACME accounts, one per CA (docs/fleet.md); this host then never registers
        an account itself but uses the one the holder exported. Unset - this host registers its own."""),
    Option("accounts", Kind.LIST, """
        On the account holder - further CAs whose accounts it holds for the fleet (the CAs of its own managed
        domains count anyway). Unset options come from O(defaults).""", elements=Kind.DICT,
           suboptions=ACCOUNT_OPTIONS),
)

HOST = by_name(HOST_OPTIONS)

__all__ = ["HOST_OPTIONS", "HOST", "STAPLING_OPTIONS", "RELOAD_OPTIONS", "STATUS_OPTIONS", "DEFAULT_STORE",
           "KEY_NAMES"]
