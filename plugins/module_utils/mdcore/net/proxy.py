"""Which proxy an origin is reached through: the configured one, else what http_proxy /
https_proxy / all_proxy / no_proxy say (read once per origin, with urllib's rules, which requests
follows too, but not on every request), else none. Only http:// proxies: https:// URLs go
through them by CONNECT. urllib.request itself is not imported (10 ms of every run's start-up).
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from dataclasses import dataclass

from ..errors import ConfigError

_PORT = re.compile(r"(.*):([0-9]*)")


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
    found = _environment()
    if not found or _bypassed(netloc, found.get("no", "")):
        return None
    return found.get(scheme) or found.get("all")


def _environment() -> dict[str, str]:
    """<scheme>_proxy variables as urllib.request.getproxies_environment reads them: the
    lower-case name wins; HTTP_PROXY is ignored in a CGI environment (httpoxy)."""
    found: dict[str, str] = {}
    for name, value in os.environ.items():
        if value and name[-6:].lower() == "_proxy":
            found[name[:-6].lower()] = value
    if "REQUEST_METHOD" in os.environ:
        found.pop("http", None)
    for name, value in os.environ.items():
        if name[-6:] == "_proxy":
            if value:
                found[name[:-6].lower()] = value
            else:
                found.pop(name[:-6].lower(), None)
    return found


def _bypassed(netloc: str, no_proxy: str) -> bool:
    """urllib.request.proxy_bypass_environment: '*', or a name the host or host:port ends with."""
    if no_proxy.strip() == "*":
        return True
    host = netloc.lower()
    port = _PORT.fullmatch(host)  # urllib's _splitport: host:digits, [v6]:digits
    bare = port.group(1) if port else host
    for entry in no_proxy.split(","):
        name = entry.strip().lstrip(".").lower()
        if not name:
            continue
        if name in (bare, host) or bare.endswith("." + name) or host.endswith("." + name):
            return True
    return False


__all__ = ["Proxy", "parse_proxy", "environment_proxy"]
