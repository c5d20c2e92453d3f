"""DNS lookups of the engine's own (the dns-persist-01 pre-check), through dnspython.

dnspython is optional: Debian ships it as python3-dnspython (12: 2.3), the venv pins a newer one.
It is imported guarded, like every third-party library of the engine (see deps.py), and its one
entry point here is :func:`txt_values`; callers ask :func:`available` first and skip what needs
it when it is missing. Every lookup has a deadline.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

try:
    import dns.exception
    import dns.name
    import dns.rdatatype
    import dns.resolver

    HAVE_DNSPYTHON = True
except ImportError:  # optional: the callers say what they skip without it
    HAVE_DNSPYTHON = False

from .errors import ConfigError, NetworkError

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


def parse_nameserver(text: str) -> Nameserver:
    """'192.0.2.53', '192.0.2.53:5353', '2001:db8::53' or '[2001:db8::53]:5353' -> Nameserver.
    Addresses only: a name would need a lookup of its own to be reached."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("a DNS server must be an IP address with an optional :port, not %r" % (text,))
    raw = text.strip()
    host, port = raw, DEFAULT_PORT
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError("invalid DNS server %r (use [address]:port for IPv6)" % text)
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:
        port_text = str(DEFAULT_PORT)
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
           "DNSPYTHON_LABEL"]
