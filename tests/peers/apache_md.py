"""Debian's Apache 2.4 with mod_md (2.6.10) and mod_ssl on loopback, as the anchor of the issuance
bench: one MDomain per name (MDPrivateKeys secp256r1), pebble as its CA, http-01 answered by
mod_md itself on pebble's http port, md-status as JSON on a status port.

Apache runs in the foreground (-DFOREGROUND) with its own ServerRoot, config, pid, store and logs
in the work folder; it binds 127.0.0.1 only. mod_md renews from its watchdog right after start:
``wait_renewed`` polls md-status until every managed domain's renewal has finished.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
import urllib.request
from pathlib import Path

from .ports import free_port
from .process import Peer
from .wait import port_open

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
# mod_watchdog and mod_unixd are compiled into Debian's apache2 (apache2 -l).
LOAD = ("mpm_event", "authz_core", "socache_shmcb", "ssl", "md", "status")


class ApacheMd(Peer):
    name = "apache-md"

    def __init__(self, workdir: Path, names: list[str], directory_url: str, ca_bundle: str, http_port: int,
                 contact: str = "mailto:ops@bench.example", binary: str = APACHE) -> None:
        super().__init__(workdir)
        self.names = list(names)
        self.directory_url = directory_url
        self.ca_bundle = ca_bundle
        self.http_port = http_port  # where pebble validates http-01 (mod_md answers there)
        self.https_port = free_port()
        self.status_port = free_port()
        self.contact = contact
        self.binary = binary
        self.user = "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.store = self.workdir / "md"
        self.conf_path = self.workdir / "apache2.conf"
        self.error_log = self.workdir / "error.log"
        self.extra_logs = [self.error_log]

    def _config(self) -> str:
        lines = ["ServerRoot %s" % self.workdir, "PidFile %s" % (self.workdir / "apache2.pid"),
                 "ErrorLog %s" % self.error_log, "ServerName localhost",
                 # MDFLEET_MD_LOGLEVEL=debug shows mod_md's every request
                 "LogLevel warn md:" + os.environ.get("MDFLEET_MD_LOGLEVEL", "notice"),
                 "User %s" % self.user, "Group %s" % self.user,
                 "Mutex file:%s default" % self.workdir, "DefaultRuntimeDir %s" % self.workdir]
        lines += ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in LOAD]
        lines += [
            "Listen 127.0.0.1:%d" % self.http_port,
            "Listen 127.0.0.1:%d https" % self.https_port,
            "Listen 127.0.0.1:%d" % self.status_port,
            "SSLSessionCache shmcb:%s/ssl_scache(512000)" % self.workdir,
            "MDStoreDir %s" % self.store,
            "MDCertificateAuthority %s" % self.directory_url,
            "MDCACertificateFile %s" % self.ca_bundle,
            "MDCertificateAgreement accepted",
            "MDContactEmail %s" % self.contact.removeprefix("mailto:"),
            "MDPrivateKeys secp256r1",
            "MDCAChallenges http-01",
            # the ports pebble and clients use stand for the public 80 and 443
            "MDPortMap http:%d https:%d" % (self.http_port, self.https_port),
            "MDRetryDelay 1s",
        ]
        for name in self.names:
            lines += ["MDomain %s" % name,
                      "<VirtualHost 127.0.0.1:%d>" % self.https_port,
                      "  ServerName %s" % name, "  SSLEngine on", "</VirtualHost>"]
        lines += ["<VirtualHost 127.0.0.1:%d>" % self.status_port,
                  "  <Location /md-status>", "    SetHandler md-status", "  </Location>", "</VirtualHost>"]
        return "\n".join(lines) + "\n"

    def start(self) -> ApacheMd:
        if self.store.exists():
            shutil.rmtree(self.store)
        self.conf_path.write_text(self._config())
        # mod_md's watchdog works in a child running as User: every folder on the way must let it in
        folder = self.workdir
        while str(folder).startswith(tempfile.gettempdir() + os.sep):
            os.chmod(folder, os.stat(folder).st_mode | 0o711)
            folder = folder.parent
        self._spawn([self.binary, "-d", str(self.workdir), "-f", str(self.conf_path), "-DFOREGROUND"],
                    env={"APACHE_RUN_DIR": str(self.workdir), "APACHE_LOCK_DIR": str(self.workdir)})
        self._wait_ready(lambda: port_open("127.0.0.1", self.status_port), "md-status port")
        return self

    def md_status(self) -> dict:
        url = "http://127.0.0.1:%d/md-status" % self.status_port
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=5) as resp:  # loopback
            return json.loads(resp.read())

    def renewed(self) -> tuple[int, int, list[str]]:
        """(finished, failed, errors): managed domains whose renewal finished with a certificate,
        those with errors, and their last error texts."""
        finished, failed, errors = 0, 0, []
        for md in self.md_status().get("managed-domains", []):
            renewal = md.get("renewal") or {}
            if renewal.get("finished") and renewal.get("cert"):
                finished += 1
            elif renewal.get("errors"):
                failed += 1
                last = renewal.get("last") or {}
                errors.append("%s: %s" % (md.get("name"), last.get("problem") or last.get("detail") or last))
        return finished, failed, errors

    def pids(self) -> list[int]:
        """The parent and its children (for their CPU time)."""
        if self.proc is None:
            return []
        out = [self.proc.pid]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(entry))
        return out
