"""OCSP stapling options: ocsp_staple's parameters and config.json's "stapling" section share them."""

from __future__ import annotations

from .defaults import DEFAULT_KEEP, DEFAULT_STAPLING_WINDOW, METHODS, STAPLING_TIMEOUT, STAPLING_WORKERS
from .model import Kind, Option
from .rules import http_url

OTHER_CERT_OPTIONS = (
    Option("cert", Kind.PATH, "The certificate (PEM). May hold the chain after it, then C(chain) (beside C(cert)) "
                              "is optional.", required=True),
    Option("chain", Kind.PATH, "PEM file holding the issuer certificate (a chain or fullchain file is fine).",
           aliases=("issuer",)),
    Option("responder", Kind.STR, "OCSP responder URL to use instead of the one in the certificate.", check=http_url),
    Option("staple_file", Kind.PATH, "Where to write the DER response for nginx C(ssl_stapling_file)."),
    Option("haproxy_ocsp_file", Kind.PATH, "Where to write the DER response for haproxy, usually C(<crt file>.ocsp)."),
    Option("haproxy_socket", Kind.STR, "haproxy stats socket for this certificate (overrides O(haproxy_socket))."),
)

WINDOW = Option("window", Kind.WINDOW, """
    Refresh a response when this much of its validity is left, as a percentage of its lifetime (V(33%)) or a
    duration (V(2d), V(12h), V(90m), V(30s)). A duration at least as long as the response's lifetime counts as half
    of it. A bare number is read as days (deprecated).""", default=DEFAULT_STAPLING_WINDOW,
                role_var="managed_domains_stapling_window")
TIMEOUT = Option("timeout", Kind.DURATION, """
    How long one exchange with a responder (connect and answer) may take (seconds, or a duration).""",
                 default=STAPLING_TIMEOUT, positive=True, high=600, role_var="managed_domains_stapling_timeout")
PROXY = Option("proxy", Kind.STR, """
    HTTP(S) proxy URL for the responders. Unset, the environment's C(http_proxy)/C(no_proxy) apply.""", empty=True,
               check=http_url, role_var="managed_domains_stapling_proxy", role_default="")
KEEP = Option("keep", Kind.DURATION, """
    Responses of certificates that are no longer served are pruned this long after their nextUpdate (seconds, or a
    duration).""", default=DEFAULT_KEEP, low=0, high=10 * 365 * 86400, role_var="managed_domains_stapling_keep")
HAPROXY_OCSP_FILES = Option("haproxy_ocsp_files", Kind.BOOL, """
    Write C(<fullchain.pem>.ocsp) beside each managed certificate (for haproxy C(crt) lines that load the fullchain
    file).""", default=False)
HAPROXY_SOCKET = Option("haproxy_socket", Kind.STR, """
    haproxy stats socket (unix path, or C(host:port)) to push new responses to with C(set ssl ocsp-response). The
    socket needs C(level admin).""", empty=True)
METHOD = Option("method", Kind.STR, """
    C(auto) uses GET for short requests (RFC 5019, cache friendly) and POST otherwise.""", default=METHODS[0],
                choices=METHODS)
WORKERS = Option("workers", Kind.INT, """
    Responder exchanges in flight at a time (plain http from one poll() loop; https from threads).""",
                 default=STAPLING_WORKERS, low=1, high=64, role_var="managed_domains_stapling_workers")
OTHERS = Option("others", Kind.LIST, """
    Certificates not issued by mdfleet to staple too (mod_md's C(MDStapleOthers)).""", elements=Kind.DICT,
                suboptions=OTHER_CERT_OPTIONS, default=(), role_var="managed_domains_stapling_others")

__all__ = ["WINDOW", "TIMEOUT", "PROXY", "KEEP", "METHOD", "WORKERS", "METHODS", "HAPROXY_OCSP_FILES",
           "HAPROXY_SOCKET", "OTHERS", "OTHER_CERT_OPTIONS", "DEFAULT_STAPLING_WINDOW", "DEFAULT_KEEP"]
