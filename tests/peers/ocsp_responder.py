"""Real `openssl ocsp` responder as a test peer, and a private network namespace to run it in.

`openssl ocsp -port N` listens on all addresses, so it (and every client talking to it) runs in a
network namespace that has nothing but `lo`: :func:`private_netns` moves the calling thread (and
every thread and process it starts afterwards) into a fresh one and moves it back on exit. Root only.

OpenSSL 3.0's responder re-reads a changed index.txt only right after answering a request and only
when mtime/ctime (whole seconds) or the inode changed: :meth:`OpensslOcspResponder.update_index`
writes a new file, renames it into place and sends one throwaway request.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .ocsp_pki import OcspTestCA
from .ports import free_port
from .process import Peer

CLONE_NEWNET = 0x40000000
NETNS_ENV = "MDFLEET_TEST_NETNS"


def in_private_netns() -> bool:
    """True when this thread's network namespace has no interface but the loopback one."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    links = [line.split(":")[1].strip() for line in out.splitlines() if ":" in line]
    return links == ["lo"]


@contextlib.contextmanager
def private_netns():
    """Run the body in a new network namespace with only `lo` (up); restore the old one after.

    Namespaces belong to threads: threads and child processes started inside the body inherit
    the new one, threads that existed before keep theirs.
    """
    if os.geteuid() != 0:
        raise PermissionError("a private network namespace needs root (CAP_SYS_ADMIN)")
    libc = ctypes.CDLL(None, use_errno=True)
    old = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "unshare(CLONE_NEWNET): %s" % os.strerror(err))
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
            os.environ[NETNS_ENV] = "1"
            yield
        finally:
            os.environ.pop(NETNS_ENV, None)
            if libc.setns(old, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns back to the original network namespace: %s" % os.strerror(err))
    finally:
        os.close(old)


def ocsp_request_der(cert, issuer) -> bytes:
    return ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build().public_bytes(
        serialization.Encoding.DER)


def post_ocsp(url: str, der: bytes, timeout: float = 5.0) -> bytes:
    req = urllib.request.Request(url, data=der, headers={"Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback test peer
        return resp.read()


class OpensslOcspResponder(Peer):
    """`openssl ocsp -index ... -port N -rsigner ... -CA ...` for one OcspTestCA.

    ``signer``: (cert_path, key_path) of a delegated responder; default: the CA signs itself.
    ``nmin``: minutes until nextUpdate (openssl omits nextUpdate without -nmin/-ndays).
    ``multi``: number of responder processes (openssl's -multi) for benchmarks.
    """

    name = "openssl-ocsp"
    startup_timeout = 15.0

    def __init__(self, workdir, ca: OcspTestCA, *, signer: tuple | None = None, nmin: int = 60,
                 port: int | None = None, multi: int | None = None, extra_args: list | None = None) -> None:
        super().__init__(Path(workdir))
        self.ca = ca
        self.signer = signer
        self.nmin = nmin
        self.port = port or free_port()
        self.multi = multi
        self.extra_args = list(extra_args or [])
        self.index_path = str(self.workdir / "index.txt")

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/" % self.port

    def argv(self) -> list[str]:
        rsigner, rkey = self.signer or (self.ca.ca_path, self.ca.ca_key_path)
        argv = ["openssl", "ocsp", "-index", self.index_path, "-port", str(self.port),
                "-rsigner", rsigner, "-rkey", rkey, "-CA", self.ca.ca_path,
                "-nmin", str(self.nmin), "-ignore_err"]
        if self.multi:
            argv += ["-multi", str(self.multi)]
        return argv + self.extra_args

    def start(self) -> OpensslOcspResponder:
        self.ca.write_index(self.index_path)
        self._spawn(self.argv())
        # Never probe with a bare connect: OpenSSL 3.0's responder spins at 100% CPU on a
        # connection closed without a request and answers nobody after that. Probe with a request.
        self._wait_ready(self._answers, "answering OCSP requests on port %d" % self.port)
        return self

    def update_index(self) -> None:
        """Publish the CA's current index (revocations, new leaves) to the running responder."""
        self.ca.write_index(self.index_path)
        if self.proc is not None:
            self.throwaway_request()

    def _answers(self) -> bool:
        return bool(self.throwaway_request(timeout=2.0))

    def throwaway_request(self, timeout: float = 5.0) -> bytes:
        """One request so that openssl notices a new index.txt (it checks after answering)."""
        return post_ocsp(self.url, ocsp_request_der(self.ca.cert, self.ca.cert), timeout)

    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None
