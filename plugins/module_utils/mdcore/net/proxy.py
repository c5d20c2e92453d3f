"""Which proxy an origin is reached through: the configured one, else what http_proxy /
https_proxy / all_proxy / no_proxy say (read once per origin, as requests would read them, but
not on every request), else none. Only http:// proxies: https:// URLs go through them by CONNECT.
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from user:password in the URL
    url: str  # as configured, without the password (for messages)

    @property
    def netloc(self) -> str:
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)


def parse_proxy(url: str) -> Proxy:
    """``http://[user:password@]host[:port]`` (the scheme may be left out, as requests allows)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    try:
        port = parts.port or 80
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None:
        raise ConfigError("proxy %r is not an http://host:port URL" % _without_password(parts))
    auth = None
    if parts.username is not None:
        pair = "%s:%s" % (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    return Proxy(parts.hostname, port, auth, _without_password(parts))


def _without_password(parts: urllib.parse.SplitResult) -> str:
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s" % (parts.scheme, host)


def environment_proxy(scheme: str, netloc: str) -> str | None:
    """The proxy URL the environment names for ``scheme://netloc``, or None (no_proxy, unset)."""
    found = urllib.request.getproxies_environment()
    if not found:
        return None
    if urllib.request.proxy_bypass_environment(netloc, found):
        return None
    return found.get(scheme) or found.get("all")


__all__ = ["Proxy", "parse_proxy", "environment_proxy"]
