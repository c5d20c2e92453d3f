"""pebble-challtestsrv: the mock DNS server pebble resolves names with (and dns-01 TXT records).

Every listener is on 127.0.0.1; the http-01/https-01/tls-alpn-01 responders are off unless asked,
because in our tests a real web server (nginx) or the engine's standalone solver answers them.
Unknown names resolve to 127.0.0.1 (A) and to nothing for AAAA, so pebble always dials loopback.
"""

from __future__ import annotations

from pathlib import Path

import requests

from .ports import free_port
from .process import Peer
from .wait import port_open


class ChallTestSrv(Peer):
    name = "challtestsrv"

    def __init__(
        self,
        workdir: Path,
        binary: str = "pebble-challtestsrv",
        http01: bool = False,
        tlsalpn01: bool = False,
        default_ipv4: str = "127.0.0.1",
        dns_flag: str = "-dns01",
    ) -> None:
        """dns_flag: Debian 12's challtestsrv takes -dns01, sid's (2.10) -dnsserver."""
        super().__init__(workdir)
        self.binary = binary
        self.dns_flag = dns_flag
        self.default_ipv4 = default_ipv4
        self.dns_port = free_port(udp_too=True)
        self.management_port = free_port()
        self.http01_port = free_port() if http01 else None
        self.tlsalpn01_port = free_port() if tlsalpn01 else None

    @property
    def dns_address(self) -> str:
        """What pebble's -dnsserver (or any resolver setting) takes."""
        return f"127.0.0.1:{self.dns_port}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def start(self) -> ChallTestSrv:
        def addr(port: int | None) -> str:
            return f"127.0.0.1:{port}" if port else ""

        self._spawn([
            self.binary,
            self.dns_flag, self.dns_address,
            "-management", addr(self.management_port),
            "-http01", addr(self.http01_port),
            "-https01", "",
            "-tlsalpn01", addr(self.tlsalpn01_port),
            "-defaultIPv4", self.default_ipv4,
            "-defaultIPv6", "",
        ])  # fmt: skip
        self._wait_ready(
            lambda: port_open("127.0.0.1", self.management_port) and port_open("127.0.0.1", self.dns_port),
            "management and DNS ports",
        )
        return self

    # -- management API (plain HTTP, JSON bodies) ------------------------------------------
    def _post(self, path: str, body: dict[str, object]) -> None:
        resp = requests.post(f"{self.management_url}{path}", json=body, timeout=5)
        resp.raise_for_status()

    def add_a(self, host: str, ip: str | list[str]) -> None:
        """Answer A queries for `host` with `ip` (e.g. 127.0.0.2 for a second test host)."""
        self._post("/add-a", {"host": host, "addresses": [ip] if isinstance(ip, str) else ip})

    def clear_a(self, host: str) -> None:
        self._post("/clear-a", {"host": host})

    def set_default_ipv4(self, ip: str) -> None:
        self._post("/set-default-ipv4", {"ip": ip})

    def set_txt(self, host: str, value: str) -> None:
        """Add a TXT value, e.g. set_txt('_acme-challenge.example.org', key_authz_digest)."""
        self._post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host: str) -> None:
        self._post("/clear-txt", {"host": _fqdn(host)})

    def add_http01(self, token: str, content: str) -> None:
        """Only useful when started with http01=True (then pebble's httpPort must be http01_port)."""
        self._post("/add-http01", {"token": token, "content": content})

    def del_http01(self, token: str) -> None:
        self._post("/del-http01", {"token": token})


def _fqdn(host: str) -> str:
    # TXT records are stored under the query name, which always ends with a dot.
    return host if host.endswith(".") else host + "."
