"""Shared helpers for the ACME integration tests: configs for pebble, chain verification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mdcore.config import md_config_from_dict

HOOK = str(Path(__file__).with_name("dns_hook.py"))


def base_doc(pebble, **extra) -> dict:
    doc = {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
           "contact": ["mailto:ops@example.org"]}
    doc.update(extra)
    return doc


def webroot_cfg(pebble, names: list[str], **extra):
    return md_config_from_dict(base_doc(pebble, domains=names, **extra))


def standalone_cfg(pebble, names: list[str], **extra):
    return md_config_from_dict(base_doc(pebble, domains=names, http01_mode="standalone",
                                        standalone_address="127.0.0.1", standalone_port=pebble.http_port, **extra))


def tls_alpn_cfg(pebble, names: list[str], **extra):
    return md_config_from_dict(base_doc(pebble, domains=names, challenge="tls-alpn-01",
                                        standalone_address="127.0.0.1", tls_alpn_port=pebble.tls_port, **extra))


def dns_cfg(pebble, challtestsrv, names: list[str], mode: str = "ok", **extra):
    return md_config_from_dict(base_doc(pebble, domains=names, challenge="dns-01",
                                        dns_command=[sys.executable, HOOK, challtestsrv.management_url, mode],
                                        **extra))


def verify_chain(pebble, tmp_path: Path, cert_path: str, chain_path: str) -> str:
    """`openssl verify` of the leaf against pebble's current root (read from its management port)."""
    roots = pebble.write_roots(tmp_path / "pebble-roots.pem")
    proc = subprocess.run(["openssl", "verify", "-CAfile", str(roots), "-untrusted", chain_path, cert_path],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
