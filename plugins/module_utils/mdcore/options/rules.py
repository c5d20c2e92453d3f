"""Rules of single option values beyond their type (Option.check): URLs."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    import ipaddress  # an http:// URL only

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parts(value: str):
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError("%r is not a URL" % (value,)) from None
    return parts


def acme_url(value: str) -> str:
    """An ACME directory: https://, or http:// to a CA on a loopback address (a test CA, a local
    proxy): anything else would send the account's requests in the clear."""
    parts = _parts(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return value
    if parts.scheme == "http" and parts.hostname:
        raise ConfigError("%r must be an https:// URL (http:// only for a CA on a loopback address)" % (value,))
    raise ConfigError("%r is not an ACME directory URL (https://...)" % (value,))


def http_url(value: str) -> str:
    """A proxy or an OCSP responder: http:// or https:// with a host."""
    parts = _parts(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return value
    raise ConfigError("%r must be an http:// or https:// URL" % (value,))


__all__ = ["acme_url", "http_url", "is_loopback"]
