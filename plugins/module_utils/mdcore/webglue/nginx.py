"""nginx: one include per managed domain, <stapling_dir>/<md>.conf, which the domain's TLS server
includes. It turns stapling on with ``ssl_stapling_file`` when the engine's staple
(<ocsp_dir>/<md>.<keytype>.der) is good for the active certificate, else it is a comment: nginx
fails to load a missing staple file, and reads the file only at (re)load, so the include is
rewritten at each reload and a staple that appears later needs no playbook run. nginx applies one
staple file to every certificate of a server, so a domain with several key types is served
without a staple rather than with a wrong one."""

from __future__ import annotations

import datetime
import os

from ..fsutil import PUBLIC_MODE
from .active import ServedCert
from .config import GlueConfig
from .files import replace_if_changed
from .staples import StapleCheck

MANAGED_MARK = "# written by mdfleet webglue"


def include_text(cfg: GlueConfig, md: str, certs: list[ServedCert], check: StapleCheck,
                 now: datetime.datetime) -> str:
    text = MANAGED_MARK + " from %s/domains/%s\n" % (cfg.store, md)
    if len(certs) != 1:
        return text + "# %d key types: nginx would send one staple for all of them, so none is sent\n" % len(certs)
    cert = certs[0].cert
    der = os.path.join(cfg.nginx_ocsp_dir, "%s.%s.der" % (md, cert.key_type))
    if check.good(md, cert.key_type, der, cert.cert_path, now):
        return text + "ssl_stapling on;\nssl_stapling_file %s;\n" % der
    why = " (%s)" % check.problem if check.problem else " (yet)"
    return text + "# no good OCSP staple for the active certificate%s\n" % why


def sync_nginx(cfg: GlueConfig, sets: dict[str, list[ServedCert]], check: StapleCheck,
               now: datetime.datetime, changed: list[str]) -> None:
    for md, certs in sets.items():
        data = include_text(cfg, md, certs, check, now).encode()
        replace_if_changed(os.path.join(cfg.nginx_stapling_dir, md + ".conf"), data, PUBLIC_MODE, changed)


__all__ = ["sync_nginx", "include_text", "MANAGED_MARK"]
