"""The ``rfc2136`` settings of a managed domain (module option, host config and role alike),
validated whole: every problem is a ConfigError naming the key, never showing the secret."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..dnsquery import DEFAULT_PORT, Nameserver, parse_nameserver
from ..errors import ConfigError
from ..options.check import check_options
from ..options.domain import RFC2136_OPTIONS
from .tsig import TsigKey, check_algorithm, check_key_name, decode_secret, load_key_file, make_key

WHERE = "rfc2136"
DEFAULT_ALGORITHM = "hmac-sha256"
ZONE_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass
class Rfc2136Settings:
    server: Nameserver
    zone: str | None = None  # None: found by an SOA query to the server
    key_name: str | None = None
    key_algorithm: str | None = None  # None: hmac-sha256, or what the key file says
    key_secret: str | None = field(default=None, repr=False)  # secret
    key_file: str | None = None
    ttl: int = 60
    timeout: float = 10.0  # one DNS exchange
    propagation_check: bool = True
    propagation_timeout: float = 120.0
    nameserver_port: int = DEFAULT_PORT
    resolvers: list[Nameserver] = field(default_factory=list)  # []: /etc/resolv.conf

    def __repr__(self) -> str:  # the secret must never show up in logs or tracebacks
        return "Rfc2136Settings(server=%r, zone=%r, key_name=%r, key_file=%r)" % (
            str(self.server), self.zone, self.key_name, self.key_file)

    def tsig_key(self) -> TsigKey:
        """The key to sign with (reads key_file: call where the file is, on the host)."""
        if self.key_file:
            key = load_key_file(self.key_file, self.key_name)
            if self.key_algorithm and self.key_algorithm != key.algorithm:
                raise ConfigError("%s: key %s in %s is %s, but key_algorithm says %s"
                                  % (WHERE, key.name, self.key_file, key.algorithm, self.key_algorithm))
            return key
        return make_key(self.key_name, self.key_algorithm or DEFAULT_ALGORITHM, self.key_secret, WHERE)

    def public(self) -> dict:
        """What status views and change detection may know (no secret)."""
        return {"server": str(self.server), "zone": self.zone, "key_name": self.key_name,
                "key_algorithm": self.key_algorithm, "key_file": self.key_file}


def parse_server(text: object, where: str, default_port: int = DEFAULT_PORT) -> Nameserver:
    try:
        return parse_nameserver(text, default_port)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError("%s: %s" % (where, exc)) from None


def _zone(value: object) -> str | None:
    if value is None or value == "":
        return None
    zone = str(value).strip().lower().rstrip(".")
    if not isinstance(value, str) or not ZONE_RE.match(zone):
        raise ConfigError("%s.zone: %r is not a DNS zone name" % (WHERE, value))
    return zone


def rfc2136_from_dict(doc: object) -> Rfc2136Settings:
    """The settings, typed by the option table (options/domain.py: RFC2136_OPTIONS), then checked as
    DNS sees them."""
    if not isinstance(doc, dict):
        raise ConfigError("%s must be a mapping (server, key_name, key_secret or key_file, ...)" % WHERE)
    values = check_options(RFC2136_OPTIONS, doc, "", prefix=WHERE)
    server = parse_server(values["server"], "%s.server" % WHERE, values["port"])
    settings = Rfc2136Settings(
        server=server, zone=_zone(values["zone"]),
        key_name=check_key_name(values["key_name"], "%s.key_name" % WHERE) if values["key_name"] else None,
        key_algorithm=check_algorithm(values["key_algorithm"], "%s.key_algorithm" % WHERE)
        if values["key_algorithm"] else None,
        key_secret=values["key_secret"] or None, key_file=values["key_file"] or None,
        ttl=values["ttl"], timeout=values["timeout"], propagation_check=values["propagation_check"],
        propagation_timeout=values["propagation_timeout"], nameserver_port=values["nameserver_port"],
        resolvers=[parse_server(r, "%s.resolvers" % WHERE) for r in values["resolvers"]],
    )
    if settings.key_secret and settings.key_file:
        raise ConfigError("%s: give key_secret or key_file, not both" % WHERE)
    if settings.key_secret is not None:
        if not settings.key_name:
            raise ConfigError("%s: key_secret needs key_name (the TSIG key's name)" % WHERE)
        decode_secret(settings.key_secret, "%s.key_secret" % WHERE)
    elif not settings.key_file:
        raise ConfigError("%s needs a TSIG key: key_name with key_secret, or key_file (a BIND or Knot key file)"
                          % WHERE)
    return settings
