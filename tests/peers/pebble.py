"""Pebble, the ACME test CA, with its own TLS certificate and challtestsrv as its DNS.

Verified with Debian 12's pebble 2.4.0: it starts in well under a second, issues 5-year
certificates, rejects 5% of good nonces by default (PEBBLE_WFE_NONCEREJECT=0 turns that off),
regenerates its roots on every start, and serves them on the management port over HTTPS with
the same certificate as the ACME API.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .challtestsrv import ChallTestSrv
from .ports import free_port
from .process import Peer
from .tlsutil import TestCA

# Debian sid's pebble (2.10+: ARI, profiles), unpacked by scripts/fetch-pebble-sid.sh.
SID_PEBBLE = os.environ.get(
    "MDFLEET_PEBBLE_SID", str(Path(__file__).resolve().parents[2] / ".cache/pebble-sid/usr/bin/pebble")
)
# Its challtestsrv (DNS flag -dnsserver) answers TXT values longer than 255 octets; Debian 12's does not.
SID_CHALLTESTSRV = str(Path(SID_PEBBLE).with_name("pebble-challtestsrv"))
# Profiles as in pebble 2.10's example config (validityPeriod in seconds).
SID_PROFILES = {
    "default": {"description": "90 days", "validityPeriod": 7776000},
    "shortlived": {"description": "6 days", "validityPeriod": 518400},
}


def make_eab_keys(count: int = 2) -> dict[str, str]:
    """{kid: base64url HMAC key} as pebble's externalAccountMACKeys wants them."""
    return {
        f"kid-{i + 1}": base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        for i in range(count)
    }


class Pebble(Peer):
    name = "pebble"

    def __init__(
        self,
        workdir: Path,
        challtestsrv: ChallTestSrv | None,
        http_port: int | None = None,
        tls_port: int | None = None,
        ocsp_url: str = "",
        eab_keys: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        extra_config: dict[str, Any] | None = None,
        binary: str = "pebble",
        strict: bool = False,
        dns_server: str | None = None,
    ) -> None:
        """
        http_port / tls_port: where pebble connects for http-01 / tls-alpn-01 validation (on the
        address challtestsrv resolves the name to). A fresh free port when not given.
        env: fault injection, e.g. {"PEBBLE_WFE_NONCEREJECT": "50", "PEBBLE_CHAIN_LENGTH": "3"}.
        extra_config: more keys for the "pebble" config object (newer pebbles: "profiles", ...).
        dns_server: "address:port" pebble resolves with instead of challtestsrv (e.g. a BIND the
        test started, so dns-01 is validated against real authoritative data).
        """
        super().__init__(workdir)
        self.challtestsrv = challtestsrv
        self.binary = binary
        self.strict = strict
        self.dns_server = dns_server or (challtestsrv.dns_address if challtestsrv else None)
        self.port = free_port()
        self.management_port = free_port()
        self.http_port = http_port or free_port()
        self.tls_port = tls_port or free_port()
        self.ocsp_url = ocsp_url
        self.eab_keys = dict(eab_keys or {})
        self.env = {"PEBBLE_VA_NOSLEEP": "1", **(env or {})}
        self.extra_config = extra_config or {}
        self.tls_ca = TestCA("pebble test CA (for its HTTPS only)")
        self.ca_bundle = str(self.tls_ca.write_ca(self.workdir / "pebble-https-ca.pem"))

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def management_url(self) -> str:
        return f"https://127.0.0.1:{self.management_port}"

    def _write_config(self) -> Path:
        cert, key = self.tls_ca.write_server_files(self.workdir, ["localhost", "127.0.0.1"], "pebble-https")
        config: dict[str, Any] = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": self.ocsp_url,
            "externalAccountBindingRequired": bool(self.eab_keys),
        }
        if self.eab_keys:
            config["externalAccountMACKeys"] = self.eab_keys
        config.update(self.extra_config)
        path = self.workdir / "pebble-config.json"
        path.write_text(json.dumps({"pebble": config}, indent=2))
        return path

    def start(self) -> Pebble:
        argv = [self.binary, "-config", str(self._write_config()), f"-strict={str(self.strict).lower()}"]
        if self.dns_server:
            argv += ["-dnsserver", self.dns_server]
        self._spawn(argv, env=self.env, drop_env_prefix="PEBBLE_")
        self._wait_ready(lambda: self.get(self.directory_url).status_code == 200, "ACME directory")
        self._wait_ready(
            lambda: self.get(f"{self.management_url}/roots/0").status_code == 200, "management API"
        )
        return self

    # -- HTTPS helpers (verified against our own CA bundle, never verify=False) -------------
    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return requests.get(url, verify=self.ca_bundle, **kwargs)

    def _management_pem(self, what: str, index: int) -> str:
        resp = self.get(f"{self.management_url}/{what}/{index}")
        resp.raise_for_status()
        return resp.text

    def root_pem(self, index: int = 0) -> str:
        """Issuing root `index` (0 = default chain; 1.. with PEBBLE_ALTERNATE_ROOTS)."""
        return self._management_pem("roots", index)

    def root_key_pem(self, index: int = 0) -> str:
        return self._management_pem("root-keys", index)

    def intermediate_pem(self, index: int = 0) -> str:
        return self._management_pem("intermediates", index)

    def intermediate_key_pem(self, index: int = 0) -> str:
        """The issuer key: lets OCSP tests sign responses as the real issuer."""
        return self._management_pem("intermediate-keys", index)

    def roots(self) -> list[str]:
        """All roots: the default chain plus PEBBLE_ALTERNATE_ROOTS alternates."""
        return [self.root_pem(i) for i in range(1 + int(self.env.get("PEBBLE_ALTERNATE_ROOTS", "0")))]

    def write_roots(self, path: Path) -> Path:
        """A CA bundle file of all current roots, to verify issued certificates with."""
        path.write_text("".join(self.roots()))
        return path

    def cert_status(self, serial_hex: str) -> dict[str, Any]:
        """Pebble's view of an issued certificate: {"Status": "Valid"|"Revoked", ...}."""
        resp = self.get(f"{self.management_url}/cert-status-by-serial/{serial_hex}")
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result


# What the `pebble_factory` fixture returns: make(fresh=False, **Pebble kwargs) -> Pebble.
PebbleFactory = Callable[..., Pebble]
