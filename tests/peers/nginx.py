"""A real nginx (Debian's) on loopback: http-01 webroot and optional TLS sites with stapling.

It runs in the foreground (`daemon off`, with a master so reloads work as in production) with
its own prefix, config, pid and logs in the test's tmp dir. The challenge folder it serves is a
symlink we can re-point, so one nginx per session serves each test's own store.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import PeerError
from .ports import free_port
from .process import Peer
from .wait import poll, port_open

NGINX = "/usr/sbin/nginx"


@dataclass
class TlsSite:
    """An HTTPS server block. stapling_file: a DER OCSP response (nginx's ssl_stapling_file);
    extra: more directives (e.g. the `include` of mdfleet webglue's stapling file)."""

    cert: Path
    key: Path
    stapling_file: Path | None = None
    server_name: str = "_"
    port: int = 0  # 0: pick a free port at construction
    extra: str = ""


class Nginx(Peer):
    name = "nginx"

    def __init__(
        self,
        workdir: Path,
        challenges_dir: Path | None = None,
        tls_sites: list[TlsSite] | None = None,
        http_port: int | None = None,
        binary: str = NGINX,
        worker_user: str | None = None,
    ) -> None:
        """worker_user: run the workers as this user (as Debian's nginx runs them as www-data), so a
        test sees what they may not read; default root (as root) or the caller."""
        super().__init__(workdir)
        self.binary = binary
        self.worker_user = worker_user
        self.http_port = http_port or free_port()
        self.tls_sites = list(tls_sites or [])
        for site in self.tls_sites:
            site.port = site.port or free_port()
        self.conf_path = self.workdir / "nginx.conf"
        self.webroot_link = self.workdir / "webroot"
        self.access_log = self.workdir / "access.log"
        self.extra_logs = [self.access_log]
        self.serve(challenges_dir or self.workdir / "challenges")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def challenge_url(self, token: str) -> str:
        return f"{self.url}/.well-known/acme-challenge/{token}"

    def serve(self, challenges_dir: Path) -> None:
        """Serve /.well-known/acme-challenge/<token> from `challenges_dir` (atomic re-point)."""
        Path(challenges_dir).mkdir(parents=True, exist_ok=True)
        tmp = self.webroot_link.with_name("webroot.new")
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(Path(challenges_dir).resolve())
        os.replace(tmp, self.webroot_link)

    def _config(self) -> str:
        w = self.workdir
        # As root, workers must read 0600 files in the 0700 store like the engine's own user.
        user = "user root;" if os.geteuid() == 0 else ""
        if self.worker_user and os.geteuid() == 0:
            user = "user %s;" % self.worker_user
        temps = "\n".join(
            f"    {kind}_temp_path {w}/tmp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        tls = "".join(self._tls_block(s) for s in self.tls_sites)
        return f"""daemon off;
master_process on;
worker_processes 1;
pid {w}/nginx.pid;
error_log stderr notice;
{user}
events {{ worker_connections 128; }}
http {{
    access_log {self.access_log};
{temps}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.http_port};
        location /.well-known/acme-challenge/ {{
            alias {self.webroot_link}/;
            default_type text/plain;
        }}
        location / {{ return 404; }}
    }}
{tls}}}
"""

    @staticmethod
    def _tls_block(site: TlsSite) -> str:
        stapling = (
            f"ssl_stapling on;\n        ssl_stapling_file {site.stapling_file};" if site.stapling_file else ""
        )
        return f"""    server {{
        listen 127.0.0.1:{site.port} ssl;
        server_name {site.server_name};
        ssl_certificate {site.cert};
        ssl_certificate_key {site.key};
        {stapling}
        {site.extra}
        location / {{ return 200 "ok\\n"; }}
    }}
"""

    def write_config(self) -> None:
        (self.workdir / "tmp").mkdir(exist_ok=True)
        self.conf_path.write_text(self._config())

    def _argv(self, *extra: str) -> list[str]:
        return [self.binary, "-p", f"{self.workdir}/", "-c", str(self.conf_path), *extra]

    def config_test(self) -> None:
        """`nginx -t` (as the role's reload handler does); raise with nginx's words on error."""
        res = subprocess.run(self._argv("-t"), capture_output=True, text=True, timeout=30, check=False)
        if res.returncode != 0:
            raise PeerError("nginx -t failed", res.stdout + res.stderr)

    def start(self) -> Nginx:
        self.write_config()
        self.config_test()
        self._spawn(self._argv())
        ports = [self.http_port, *(s.port for s in self.tls_sites)]
        self._wait_ready(lambda: all(port_open("127.0.0.1", p) for p in ports), f"ports {ports}")
        self._wait_ready(self._workers, "worker process")
        return self

    def _workers(self) -> set[int]:
        """Pids of the master's children, read from /proc (no extra tools needed)."""
        if self.proc is None:
            return set()
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # field 4 (ppid) comes after the ")" that closes the command name
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                found.add(int(entry.name))
        return found

    def reload(self, timeout: float = 15.0) -> None:
        """Config test, then SIGHUP; returns once only new workers are left, so the next
        connection is guaranteed to see the new config and certificates."""
        if self.proc is None:
            raise PeerError("nginx is not running")
        self.write_config()
        self.config_test()
        old = self._workers()
        self.proc.send_signal(signal.SIGHUP)
        poll(lambda: (w := self._workers()) and not (w & old), timeout, "nginx reload")
