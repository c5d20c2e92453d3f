"""Fleet host names and the rules that follow from them (no I/O beyond the host's own name)."""

from __future__ import annotations

import functools
import re

from ..errors import ConfigError

# Inventory host names: anything printable without blanks or path separators (names, IPs, FQDNs).
HOST_NAME_RE = re.compile(r"^[^\s/\\\x00-\x1f\x7f]{1,255}$")


@functools.lru_cache(maxsize=1)
def default_host() -> str:
    """This host's fleet name when the config names none: its FQDN (asked once per process)."""
    import socket  # only a fleet configuration without its host name asks

    return socket.getfqdn()


def check_host_name(value: object, key: str) -> str:
    if not isinstance(value, str) or not HOST_NAME_RE.fullmatch(value):
        shown = " %r" % value[:80] if isinstance(value, str) else ""
        raise ConfigError("%s%s must be a host name (the inventory name of a fleet host)" % (key, shown))
    return value


def check_host_names(values: object, key: str) -> list[str]:
    if not isinstance(values, list):
        raise ConfigError("%s must be a list of host names" % key)
    out = [check_host_name(v, "%s[%d]" % (key, i)) for i, v in enumerate(values)]
    if len(set(out)) != len(out):
        raise ConfigError("%s lists a host twice" % key)
    return out


__all__ = ["default_host", "check_host_name", "check_host_names", "HOST_NAME_RE"]
