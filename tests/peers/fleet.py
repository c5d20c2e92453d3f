"""N fleet hosts on one machine for playbook tests and the fleet bench.

Each host is an inventory host with ansible_connection=local and everything of its own: store,
challenges folder, config, engine folder, `mdfleet` command, and an nginx (its own prefix and main
config, which includes the role's conf.d) listening only on the host's own loopback address
127.0.0.N. All hosts listen on one port pair (http, https) that is free on every one of those
addresses: pebble validates http-01 on <address of the name>:<http port>, challtestsrv's /add-a
says which address a name has. No port 80, no shared address: runs cannot collide with molecule's
127.0.0.x:80 or with another test's peers.

The certificate and account counts come from pebble's log ("Issued certificate serial ...",
"There are now N accounts in memory"), i.e. from the CA, not from what the client believes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PeerError
from .nginx import NGINX
from .process import Peer
from .wait import poll, port_open

HOST_PYTHON = "/usr/bin/python3"
_ISSUED = re.compile(r"Issued certificate serial ([0-9a-f]+) for order")
_ACCOUNTS = re.compile(r"There are now (\d+) accounts in memory")
_INVALID = re.compile(r"authz \S+ set INVALID by completed challenge")


def free_port_on(addresses: list[str], avoid: set[int] | None = None) -> int:
    """A TCP port that can be bound on every one of `addresses` (the kernel picks one on the first)."""
    avoid = avoid or set()
    for _attempt in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((addresses[0], 0))
            port: int = probe.getsockname()[1]
        if port in avoid:
            continue
        if all(_bindable(addr, port) for addr in addresses[1:]):
            return port
    raise PeerError("no port free on all of %s" % ", ".join(addresses))


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


MAIN_CONF = """daemon off;
%(user)s
master_process on;
worker_processes 1;
pid %(w)s/nginx.pid;
error_log %(err)s notice;
events { worker_connections 256; }
http {
    log_format mdfleet '$remote_addr $host "$request" $status upstream=$upstream_addr';
    access_log %(acc)s mdfleet;
%(temps)s
    default_type application/octet-stream;
    server {
        listen %(addr)s:%(port)d default_server;
        location / { return 404; }
    }
%(extra)s
    include %(conf_dir)s/*.conf;
}
"""


class HostNginx(Peer):
    """One fleet host's nginx: a private main config that includes the role's conf.d, a catch-all
    server on the host's address (so the config test passes before the role wrote any site)."""

    name = "nginx"

    def __init__(self, workdir: Path, address: str, http_port: int, binary: str = NGINX,
                 extra_http: str = "") -> None:
        super().__init__(workdir)
        self.binary = binary
        self.address = address
        self.http_port = http_port
        self.extra_http = extra_http
        self.conf_path = self.workdir / "nginx.conf"
        self.conf_dir = self.workdir / "conf.d"
        self.access_log = self.workdir / "access.log"
        self.error_log = self.workdir / "error.log"
        self.extra_logs = [self.access_log, self.error_log]

    def argv(self, *extra: str) -> list[str]:
        return [self.binary, "-p", "%s/" % self.workdir, "-c", str(self.conf_path), *extra]

    def write_config(self) -> None:
        w = self.workdir
        (w / "tmp").mkdir(exist_ok=True)
        self.conf_dir.mkdir(exist_ok=True)
        temps = "\n".join("    %s_temp_path %s/tmp/%s;" % (kind, w, kind)
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        # as root, workers must read the challenges folder in a 0700 tmp tree like the engine's own user
        user = "user root;" if os.geteuid() == 0 else ""
        values = {"w": w, "err": self.error_log, "acc": self.access_log, "temps": temps, "addr": self.address,
                  "port": self.http_port, "extra": self.extra_http, "conf_dir": self.conf_dir, "user": user}
        self.conf_path.write_text(MAIN_CONF % values)

    def start(self) -> HostNginx:
        self.write_config()
        test = subprocess.run(self.argv("-t", "-q"), capture_output=True, text=True, timeout=30, check=False)
        if test.returncode != 0:
            raise PeerError("nginx -t failed", test.stdout + test.stderr)
        self._spawn(self.argv())
        self._wait_ready(lambda: port_open(self.address, self.http_port), "%s:%d" % (self.address, self.http_port))
        return self


@dataclass
class FleetHost:
    name: str
    address: str
    root: Path
    http_port: int
    https_port: int
    nginx: HostNginx | None = None

    @property
    def config_file(self) -> Path:
        return self.root / "etc" / "config.json"

    @property
    def bin(self) -> Path:
        return self.root / "bin" / "mdfleet"

    @property
    def store(self) -> Path:
        return self.root / "store"

    def role_vars(self) -> dict:
        """The role's variables that put everything of this host under its root, with its own nginx."""
        assert self.nginx is not None
        ngx = self.nginx.argv()
        (self.root / "www").mkdir(parents=True, exist_ok=True)
        (self.root / "bin").mkdir(exist_ok=True)  # the role installs the command, not its folder
        (self.root / "www" / "index.html").write_text(self.name + "\n")
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": HOST_PYTHON,
            "managed_domains_store": str(self.store),
            "managed_domains_challenges_dir": str(self.root / "challenges"),
            "managed_domains_config_file": str(self.config_file),
            "managed_domains_lib_dir": str(self.root / "lib"),
            "managed_domains_bin": str(self.bin),
            "managed_domains_install_packages": False,
            "managed_domains_systemd": False,
            "managed_domains_webserver": "nginx",
            "managed_domains_webserver_service": "",
            "managed_domains_webserver_test_command": ngx + ["-t", "-q"],
            "managed_domains_webserver_reload_command": ngx + ["-s", "reload"],
            "managed_domains_nginx_conf_dir": str(self.nginx.conf_dir),
            "managed_domains_nginx_dir": str(self.nginx.workdir / "mdfleet"),
            "managed_domains_nginx_pid_file": str(self.nginx.workdir / "nginx.pid"),
            "managed_domains_nginx_log_dir": str(self.nginx.workdir),
            "managed_domains_listen_addresses": [self.address],
            "managed_domains_http_port": self.http_port,
            "managed_domains_https_port": self.https_port,
            "fleet_test_site_root": str(self.root / "www"),
        }

    def mdfleet(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bin), "--config", str(self.config_file), *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def served_serial(self, server_name: str, roots: Path, timeout: float = 15.0) -> str:
        """The serial (hex, lower case) of the certificate this host's nginx serves for `server_name`,
        verified against pebble's roots (openssl s_client)."""
        return served_serial(self.address, self.https_port, server_name, roots, timeout)


def served_serial(address: str, port: int, server_name: str, roots: Path, timeout: float = 15.0) -> str:
    proc = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (address, port), "-servername", server_name,
                           "-CAfile", str(roots), "-verify_return_error"], input="", capture_output=True,
                          text=True, timeout=timeout, check=False)
    if "Verify return code: 0 (ok)" not in proc.stdout:
        raise PeerError("%s:%d (%s): no verified certificate" % (address, port, server_name),
                        proc.stdout[-2000:] + proc.stderr[-2000:])
    pem = proc.stdout[proc.stdout.index("-----BEGIN CERTIFICATE-----"):proc.stdout.index("-----END CERTIFICATE-----")
                      + len("-----END CERTIFICATE-----")]
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True,
                         timeout=timeout, check=True).stdout
    return out.strip().split("=", 1)[1].lower().lstrip("0")


@dataclass
class Fleet:
    """N hosts (names h1..hN unless given) on 127.0.0.<first>..; start() starts their nginx."""

    root: Path
    count: int
    first_address: int = 2
    prefix: str = "h"
    ports: tuple[int, int] | None = None  # (http, https); default: free on every address of the fleet
    spare: int = 0  # further addresses after the hosts' (e.g. a balancer's) where the ports are free too
    hosts: list[FleetHost] = field(default_factory=list)

    def __post_init__(self) -> None:
        addresses = ["127.0.0.%d" % (self.first_address + i) for i in range(self.count + self.spare)]
        self.spare_addresses = addresses[self.count:]
        addresses = addresses[:self.count]
        if self.ports is None:
            http = free_port_on(addresses + self.spare_addresses + ["127.0.0.1"])
            self.ports = (http, free_port_on(addresses, {http}))
        self.http_port, self.https_port = self.ports
        for i, addr in enumerate(addresses):
            name = "%s%d" % (self.prefix, i + 1)
            self.hosts.append(FleetHost(name, addr, self.root / name, self.http_port, self.https_port))

    def start(self) -> Fleet:
        for host in self.hosts:
            host.nginx = HostNginx(host.root / "nginx", host.address, host.http_port).start()
        return self

    def stop(self) -> None:
        for host in self.hosts:
            if host.nginx is not None:
                host.nginx.stop()

    def __getitem__(self, name: str) -> FleetHost:
        return next(h for h in self.hosts if h.name == name)

    def inventory(self, path: Path, group_vars: dict, host_vars: dict[str, dict] | None = None,
                  override: dict[str, dict] | None = None, groups: dict[str, list[str]] | None = None) -> Path:
        """Write a YAML (JSON) inventory: group `web` with every host, optional further groups;
        `override` replaces a host's variables (e.g. an unreachable ssh connection)."""
        host_vars = host_vars or {}
        override = override or {}
        web = {h.name: {**h.role_vars(), **host_vars.get(h.name, {}), **override.get(h.name, {})}
               for h in self.hosts}
        children: dict = {"web": {"hosts": web, "vars": group_vars}}
        for group, members in (groups or {}).items():
            children[group] = {"hosts": {m: {} for m in members}}
        path.write_text(json.dumps({"all": {"children": children}}, indent=2))
        return path


def pebble_counts(log: Path) -> dict[str, int]:
    """What the CA did, from its log: certificates issued, accounts registered, failed validations."""
    text = log.read_text(errors="replace") if log.exists() else ""
    accounts = [int(n) for n in _ACCOUNTS.findall(text)]
    return {"certificates": len(_ISSUED.findall(text)), "accounts": max(accounts, default=0),
            "invalid_authorizations": len(_INVALID.findall(text))}


def wait_served(host_address: str, port: int, name: str, roots: Path, serial: str, timeout: float = 20.0) -> str:
    """Poll until `serial` is served (nginx -s reload returns before the new workers answer)."""
    def check() -> str | None:
        try:
            got = served_serial(host_address, port, name, roots)
        except PeerError:
            return None
        return got if got == serial else None

    return poll(check, timeout, "%s:%d to serve serial %s for %s" % (host_address, port, serial, name), 0.2)


def wait_changed(host_address: str, port: int, name: str, roots: Path, old: str, timeout: float = 20.0) -> str:
    """Poll until a serial other than `old` is served (after a renewal's reload); returns it."""
    def check() -> str | None:
        try:
            got = served_serial(host_address, port, name, roots)
        except PeerError:
            return None
        return got if got != old else None

    return poll(check, timeout, "%s:%d to serve another serial than %s for %s" % (host_address, port, old, name), 0.2)
