"""Small helpers of the stapling integration tests."""

from __future__ import annotations

import datetime
import os
import subprocess

from cryptography.x509 import ocsp

from mdcore.clock import Clock
from mdcore.store import Store
from peers.ocsp_pki import install_md

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def read(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def cert_status(der: bytes) -> str:
    return ocsp.load_der_ocsp_response(der).certificate_status.name.lower()


def this_update(der: bytes) -> datetime.datetime:
    resp = ocsp.load_der_ocsp_response(der)
    value = getattr(resp, "this_update_utc", None)
    return value or resp.this_update.replace(tzinfo=datetime.timezone.utc)


def s_client_status(port: int, servername: str = "localhost", ca_file: str | None = None) -> str:
    """`openssl s_client -status` against 127.0.0.1:port; returns its output (the OCSP part)."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", servername, "-status"]
    if ca_file:
        argv += ["-CAfile", ca_file]
    proc = subprocess.run(argv, input="", capture_output=True, text=True, timeout=20, check=False)
    return proc.stdout + proc.stderr


def requests_seen(responder) -> int:
    """How many requests the openssl responder logged."""
    return read(responder.log_path).decode(errors="replace").count("Received request")


def managed_leaf(tmp_path, pki, responder, name: str):
    """A certificate for ``name`` from the test PKI, the responder started, the certificate active
    in a fresh store: the start of every web server test. Returns (leaf, store)."""
    leaf = pki.issue(name, responder.url)
    responder.start()
    store = Store(str(tmp_path / "store"), Clock()).setup()
    install_md(store, leaf.name, leaf)
    return leaf, store


def haproxy_bundle(web, leaf, filename: str):
    """What haproxy 2.6 loads: certificate, chain and key in one 0600 file; returns it and its .ocsp path."""
    crt = web / filename
    crt.write_bytes(read(leaf.fullchain_path) + read(leaf.key_path))
    crt.chmod(0o600)
    return crt, str(crt) + ".ocsp"
