"""Putting a response where web servers read it: DER files (nginx ssl_stapling_file, haproxy
<crt>.ocsp), rewritten only when they differ, and haproxy's runtime API over its stats socket."""

from __future__ import annotations

import base64
import os
import socket

from ..clock import Clock, Deadline
from ..errors import OcspError
from ..fsutil import PUBLIC_MODE, read_bytes, write_if_changed

HAPROXY_OK = b"OCSP Response updated"


def write_output(path: str, der: bytes, written: list | None = None) -> bool:
    """Write ``der`` to ``path`` unless it already holds exactly that; returns whether it wrote.
    The folder must exist (it belongs to the web server's configuration, not to us). With
    ``written``: no fsync, the path is appended for the caller's flush at the end."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OcspError("cannot write staple %s: folder %s does not exist" % (path, folder))
    try:
        if not write_if_changed(path, der, PUBLIC_MODE, durable=written is None):
            return False
    except OSError as exc:
        raise OcspError("cannot write staple %s: %s" % (path, exc.strerror or exc)) from None
    if written is not None:
        written.append(path)
    return True


def differs(path: str, der: bytes) -> bool:
    """Whether writing ``der`` to ``path`` would change it (check mode)."""
    try:
        return read_bytes(path) != der
    except OSError:
        return True


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("/") or address.startswith("unix@"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address[5:] if address.startswith("unix@") else address
    else:
        if ":" not in address:
            raise OSError("%r is neither a socket path nor host:port" % address)
        host, port = address.replace("ipv4@", "").rsplit(":", 1)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    sock.settimeout(timeout)
    sock.connect(target)
    return sock


# haproxy 2.6 has no OCSP slot for a certificate it loaded without a <crt>.ocsp file: it refuses
# runtime updates for it until a reload reads the file.
HAPROXY_NO_SLOT = "does not match any certificate"


class HaproxyNoSlot(OcspError):
    """haproxy does not know the certificate's OCSP slot yet (loaded without a .ocsp file)."""


def haproxy_set_ocsp(address: str, der: bytes, clock: Clock, seconds: float = 5.0) -> str:
    """``set ssl ocsp-response <base64>`` on haproxy's runtime API (a unix socket path or
    host:port); returns haproxy's answer, raises OcspError unless it accepted the response."""
    deadline = Deadline(clock, seconds)
    command = b"set ssl ocsp-response " + base64.b64encode(der) + b"\n"
    reply = b""
    try:
        with _connect(address, max(0.001, deadline.remaining())) as sock:
            sock.sendall(command)
            sock.shutdown(socket.SHUT_WR)
            while not deadline.expired():
                sock.settimeout(max(0.001, deadline.remaining()))
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
                if len(reply) > 64 * 1024:
                    break
    except TimeoutError:
        raise OcspError("haproxy runtime API %s did not answer within %gs" % (address, seconds)) from None
    except OSError as exc:
        raise OcspError("haproxy runtime API %s: %s" % (address, exc.strerror or exc)) from None
    text = reply.decode("utf-8", "replace").strip()
    if HAPROXY_OK not in reply:
        error = HaproxyNoSlot if HAPROXY_NO_SLOT in text else OcspError
        raise error("haproxy refused the OCSP response: %s" % (text or "no answer"))
    return text


__all__ = ["write_output", "differs", "haproxy_set_ocsp", "HAPROXY_OK", "HaproxyNoSlot"]
