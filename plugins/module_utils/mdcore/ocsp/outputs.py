"""Putting a response where web servers read it: DER files (nginx ssl_stapling_file, haproxy
<crt>.ocsp), rewritten only when they differ, and haproxy's runtime API over its stats socket
(the client is webglue.haproxy_api, shared with the reload wait)."""

from __future__ import annotations

import base64
import os

from ..clock import Clock
from ..errors import OcspError
from ..fsutil import PUBLIC_MODE, read_bytes, write_if_changed

HAPROXY_OK = "OCSP Response updated"


def write_output(path: str, der: bytes, written: list | None = None) -> bool:
    """Write ``der`` to ``path`` unless it already holds exactly that; returns whether it wrote.
    The folder must exist (it belongs to the web server's configuration, not to us). With
    ``written``: no fsync, the path is appended for the caller's flush at the end."""
    try:
        if not write_if_changed(path, der, PUBLIC_MODE, durable=written is None):
            return False
    except OSError as exc:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):  # looked at only when the write failed: a stat less per staple
            raise OcspError("cannot write staple %s: folder %s does not exist" % (path, folder)) from None
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


# haproxy 2.6 has no OCSP slot for a certificate it loaded without a <crt>.ocsp file: it refuses
# runtime updates for it until a reload reads the file.
HAPROXY_NO_SLOT = "does not match any certificate"


class HaproxyNoSlot(OcspError):
    """haproxy does not know the certificate's OCSP slot yet (loaded without a .ocsp file)."""


def haproxy_set_ocsp(address: str, der: bytes, clock: Clock, seconds: float = 5.0) -> str:
    """``set ssl ocsp-response <base64>`` on haproxy's runtime API (a unix socket path or
    host:port); returns haproxy's answer, raises OcspError unless it accepted the response."""
    from ..webglue import haproxy_api  # a socket: only where haproxy's runtime API is configured

    try:
        text = haproxy_api.command(address, b"set ssl ocsp-response " + base64.b64encode(der), clock, seconds)
    except haproxy_api.HaproxyApiError as exc:
        raise OcspError(str(exc)) from None
    text = text.strip()
    if HAPROXY_OK not in text:
        error = HaproxyNoSlot if HAPROXY_NO_SLOT in text else OcspError
        raise error("haproxy refused the OCSP response: %s" % (text or "no answer"))
    return text


__all__ = ["write_output", "differs", "haproxy_set_ocsp", "HAPROXY_OK", "HaproxyNoSlot"]
