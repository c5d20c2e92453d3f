"""DNS lookups of the engine's own (the dns-persist-01 pre-check), through dnspython, and the
engine's one import of dnspython (also for dnsclient/: RFC 2136 updates, zone lookups).

dnspython is optional: Debian ships it as python3-dnspython (12: 2.3), the venv pins a newer one.
It is imported at its first use (below), unlike the engine's other libraries (see deps.py); other
files take ``dns`` from here (None without it). The entry point of this file is :func:`txt_values`;
callers ask :func:`available` first and skip what needs it when it is missing, or call
:func:`require_dnspython` where a configuration cannot work without it. Every lookup has a deadline.
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import sys
from dataclasses import dataclass

from .errors import ConfigError, NetworkError

# dnspython is found at start-up but imported at its first use: dns.query imports requests and
# urllib3 (for DNS over HTTPS, which the engine does not use), 0.1 s of every run's start-up, also
# of the runs that never ask a DNS server.
HAVE_DNSPYTHON = importlib.util.find_spec("dns") is not None
_SUBMODULES = ("exception", "flags", "message", "name", "query", "rcode", "rdata", "rdataclass", "rdatatype",
               "resolver", "rrset", "tsig", "update")


class _Dnspython:
    """Stands for the ``dns`` package until an attribute is asked for; then it is imported."""

    def __getattr__(self, name: str):
        try:
            for sub in _SUBMODULES:
                importlib.import_module("dns." + sub)
        except ImportError as exc:
            raise ConfigError("%s cannot be imported: %s" % (DNSPYTHON_LABEL, exc)) from None
        return getattr(sys.modules["dns"], name)


dns = _Dnspython() if HAVE_DNSPYTHON else None  # type: ignore[assignment]
DNSPYTHON_LABEL = "dnspython (Debian: python3-dnspython)"
DEFAULT_PORT = 53


class DnsLookupError(NetworkError):
    """A DNS server could not be asked or gave no usable answer (not: the name has no record)."""


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        host = "[%s]" % self.address if ":" in self.address else self.address
        return host if self.port == DEFAULT_PORT else "%s:%d" % (host, self.port)


def available() -> bool:
    return HAVE_DNSPYTHON


def require_dnspython(feature: str) -> None:
    """ConfigError naming ``feature`` and the package when dnspython is missing."""
    if not HAVE_DNSPYTHON:
        raise ConfigError("%s needs %s, which is not installed" % (feature, DNSPYTHON_LABEL))


def parse_nameserver(text: str, default_port: int = DEFAULT_PORT) -> Nameserver:
    """'192.0.2.53', '192.0.2.53:5353', '2001:db8::53' or '[2001:db8::53]:5353' -> Nameserver.
    Addresses only: a name would need a lookup of its own to be reached."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("a DNS server must be an IP address with an optional :port, not %r" % (text,))
    raw = text.strip()
    host = raw
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError("invalid DNS server %r (use [address]:port for IPv6)" % text)
        port_text = rest[1:] if rest else str(default_port)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:
        port_text = str(default_port)
    try:
        address = str(ipaddress.ip_address(host))
        port = int(port_text)
    except ValueError:
        raise ConfigError("invalid DNS server %r: an IP address with an optional :port" % text) from None
    if not 0 < port < 65536:
        raise ConfigError("invalid DNS server %r: port out of range" % text)
    return Nameserver(address, port)


def _resolver(servers: list[Nameserver], timeout: float):
    resolver = dns.resolver.Resolver(configure=not servers)  # no servers given: /etc/resolv.conf
    if servers:
        # ports before addresses: dnspython >= 2.4 applies them when the addresses are set
        resolver.nameserver_ports = {s.address: s.port for s in servers}
        resolver.nameservers = [s.address for s in servers]
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None  # a record published a moment ago must be seen
    return resolver


def describe_servers(servers: list[Nameserver]) -> str:
    return ", ".join(str(s) for s in servers) if servers else "the host's resolvers (/etc/resolv.conf)"


def txt_values(name: str, servers: list[Nameserver], timeout: float) -> list[str]:
    """The TXT values at ``name``, each record's character-strings joined (RFC 1035 3.3.14,
    as CAs read them). [] when the name or its TXT records do not exist. Raises DnsLookupError
    when no server answered within ``timeout`` seconds, or all failed (SERVFAIL, REFUSED)."""
    if not HAVE_DNSPYTHON:
        raise DnsLookupError("DNS lookups need %s" % DNSPYTHON_LABEL)
    where = describe_servers(servers)
    try:
        resolver = _resolver(servers, max(0.1, timeout))
        answer = resolver.resolve(dns.name.from_text(name), dns.rdatatype.TXT, raise_on_no_answer=False,
                                  search=False, lifetime=max(0.1, timeout))
    except dns.resolver.NXDOMAIN:
        return []
    except dns.resolver.NoNameservers as exc:
        raise DnsLookupError("no DNS server answered the TXT query for %s (asked %s): %s"
                             % (name, where, _short(exc))) from None
    except dns.exception.Timeout:
        raise DnsLookupError("the TXT query for %s timed out after %.0fs (asked %s)" % (name, timeout, where)) \
            from None
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise DnsLookupError("the TXT query for %s failed (asked %s): %s" % (name, where, _short(exc))) from None
    if answer.rrset is None:
        return []
    return [b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer.rrset]


def _short(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:300]


__all__ = ["DnsLookupError", "Nameserver", "available", "parse_nameserver", "txt_values", "describe_servers",
           "DNSPYTHON_LABEL", "dns", "require_dnspython"]
