"""TLS contexts for the HTTP client, one per trust setting for the whole process (loading the
system's trust store costs milliseconds; every connection of every client shares the context)."""

from __future__ import annotations

import os
import ssl
import threading

from ..errors import ConfigError

_CONTEXTS: dict[object, ssl.SSLContext] = {}
_LOCK = threading.Lock()


def context_for(verify: bool | str) -> ssl.SSLContext:
    """``True``: the system's trust store; a path: that CA bundle file (or hashed folder) only;
    ``False``: no verification at all (never a default; tests of broken peers only)."""
    with _LOCK:
        found = _CONTEXTS.get(verify)
        if found is None:
            found = _CONTEXTS[verify] = _build(verify)
        return found


def _build(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context()
    try:
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ConfigError("cannot load the CA bundle %s: %s" % (verify, reason)) from None


def verify_reason(exc: ssl.SSLError) -> str:
    """'certificate verify failed: self-signed certificate' rather than the ssl module's
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ... (_ssl.c:1006)'."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate verify failed: %s" % (exc.verify_message or "unknown reason")
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return str(exc).split(" (_ssl.c", 1)[0] or exc.__class__.__name__


__all__ = ["context_for", "verify_reason"]
