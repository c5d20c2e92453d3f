"""A real haproxy (Debian's 2.6) on 127.0.0.1 with one TLS frontend and an admin stats socket,
for the stapling and web server glue tests: it loads `<crt>.ocsp` at start and takes `set ssl
ocsp-response`. ``crt`` may be a folder (`crt <dir>/`, as the role configures it);
``master_worker`` runs it as systemd does (-W): :meth:`reload_command` starts a new worker."""

from __future__ import annotations

import os
from pathlib import Path

from peers.ports import free_port
from peers.process import Peer
from peers.wait import port_open

HAPROXY = "/usr/sbin/haproxy"


class Haproxy(Peer):
    name = "haproxy"

    def __init__(self, workdir, crt: str, binary: str = HAPROXY, master_worker: bool = False) -> None:
        super().__init__(Path(workdir))
        self.binary = binary
        self.crt = crt
        self.master_worker = master_worker
        self.port = free_port()
        self.socket = str(self.workdir / "admin.sock")
        self.conf_path = self.workdir / "haproxy.cfg"

    def config(self) -> str:
        return f"""global
    stats socket {self.socket} mode 600 level admin
    tune.ssl.default-dh-param 2048

defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s

frontend tls
    bind 127.0.0.1:{self.port} ssl crt {self.crt}
    http-request return status 200 content-type text/plain string ok
"""

    def start(self) -> Haproxy:
        self.conf_path.write_text(self.config())
        self._spawn([self.binary, *(["-W"] if self.master_worker else []), "-db", "-f", str(self.conf_path)])
        self._wait_ready(lambda: port_open("127.0.0.1", self.port) and os.path.exists(self.socket),
                         "port %d and stats socket" % self.port)
        return self

    def reload_command(self) -> list[str]:
        """What `systemctl reload haproxy` does to a master: SIGUSR2, which returns at once."""
        assert self.master_worker and self.proc is not None
        return ["/bin/kill", "-USR2", str(self.proc.pid)]
