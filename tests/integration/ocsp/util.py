"""Small helpers of the stapling integration tests."""

from __future__ import annotations

import datetime
import os
import subprocess

from cryptography.x509 import ocsp

from mdcore.store import Store

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def install_md(store: Store, md: str, leaf, key_types=("p256",)) -> None:
    """Make ``leaf`` the active certificate of ``md`` in the store (for every key type given)."""
    staging = store.begin_staging(md, {"url": "https://ca.test/order/1"})
    for kt in key_types:
        folder = os.path.join(staging, kt)
        os.makedirs(folder, exist_ok=True)
        for name, src in (("cert.pem", leaf.cert_path), ("chain.pem", leaf.chain_path),
                          ("fullchain.pem", leaf.fullchain_path), ("privkey.pem", leaf.key_path)):
            with open(src, "rb") as fin, open(os.path.join(folder, name), "wb") as fout:
                fout.write(fin.read())
    store.activate(md, {"key_types": list(key_types), "domains": [md]})


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
