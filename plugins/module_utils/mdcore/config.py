"""A managed domain's configuration, validated completely before anything acts on it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .acme.resources import ChallengeType
from .errors import ConfigError, StoreError
from .keys import key_spec
from .store import check_md_name
from .window import Window

LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

HTTP01_WEBROOT = "webroot"
HTTP01_STANDALONE = "standalone"


def normalize_name(name: str) -> str:
    """Lower-case, IDNA-encoded DNS name or IP address; raises ConfigError on anything else."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("empty domain name")
    raw = name.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        pass
    wildcard = raw.startswith("*.")
    body = raw[2:] if wildcard else raw
    try:
        body = body.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError("invalid domain name %r" % name) from None
    labels = body.split(".")
    if len(body) > 253 or len(labels) < 2 or not all(LABEL_RE.match(lbl) for lbl in labels):
        raise ConfigError("invalid domain name %r" % name)
    if labels[-1].isdigit():
        raise ConfigError("invalid domain name %r (numeric top-level label)" % name)
    return ("*." if wildcard else "") + body


@dataclass
class CaConfig:
    url: str
    ca_bundle: str | None = None  # CA bundle that verifies the ACME server's TLS certificate
    eab_kid: str | None = None
    eab_hmac_key: str | None = None  # secret
    eab_alg: str = "HS256"

    def __repr__(self) -> str:  # the HMAC key must never show up in logs or tracebacks
        return "CaConfig(url=%r, eab_kid=%r)" % (self.url, self.eab_kid)


@dataclass
class ChallengeConfig:
    type: str = ChallengeType.HTTP01
    http01_mode: str = HTTP01_WEBROOT
    standalone_address: str = "0.0.0.0"  # where the engine's own listeners bind (http-01, tls-alpn-01)
    standalone_port: int = 80
    tls_alpn_port: int = 443
    dns_command: list[str] = field(default_factory=list)
    dns_propagation_seconds: float = 0.0
    dns_command_timeout: float = 60.0


@dataclass
class MdConfig:
    name: str
    domains: list[str]
    cas: list[CaConfig]
    key_types: list[str] = field(default_factory=lambda: ["p256"])
    challenge: ChallengeConfig = field(default_factory=ChallengeConfig)
    contact: list[str] = field(default_factory=list)
    agree_tos: bool = False
    account_key_type: str = "p256"
    renew_window: str = "33%"
    warn_window: str = "10%"
    preferred_chain: str | None = None
    profile: str | None = None
    ari: bool = True  # RFC 9773 renewal information where the CA offers it
    proxy: str | None = None
    request_timeout: float = 30.0
    order_timeout: float = 300.0  # deadline for one whole order, polling included

    def validate(self) -> MdConfig:
        """Normalise names and check every option; raises ConfigError naming what is wrong."""
        if not self.domains:
            raise ConfigError("managed domain %r has no names" % self.name)
        names = [normalize_name(n) for n in self.domains]
        if len(set(names)) != len(names):
            raise ConfigError("managed domain %r lists a name twice" % self.name)
        self.domains = names
        self.name = self.name or names[0].replace("*", "_")
        try:
            check_md_name(self.name)
        except StoreError as exc:  # a bad name is bad input (not retried), not a store failure
            raise ConfigError(str(exc)) from None
        if not self.key_types:
            raise ConfigError("managed domain %r has no key types" % self.name)
        self.key_types = [key_spec(k).name for k in self.key_types]
        if len(set(self.key_types)) != len(self.key_types):
            raise ConfigError("managed domain %r lists a key type twice" % self.name)
        if not self.cas or not all(ca.url.startswith(("https://", "http://")) for ca in self.cas):
            raise ConfigError("managed domain %r needs an ACME directory URL (https://...)" % self.name)
        for ca in self.cas:
            if bool(ca.eab_kid) != bool(ca.eab_hmac_key):
                raise ConfigError("EAB needs both eab_kid and eab_hmac_key (%s)" % ca.url)
        chal = self.challenge
        if chal.type not in (ChallengeType.HTTP01, ChallengeType.DNS01, ChallengeType.TLSALPN01):
            raise ConfigError("unsupported challenge type %r (http-01, dns-01 or tls-alpn-01)" % chal.type)
        if chal.type in (ChallengeType.HTTP01, ChallengeType.TLSALPN01):
            wild = [n for n in names if n.startswith("*.")]
            if wild:
                raise ConfigError("wildcard names need dns-01, not %s: %s" % (chal.type, ", ".join(wild)))
        for port in (chal.standalone_port, chal.tls_alpn_port):
            if not 0 < port < 65536:
                raise ConfigError("port %r is not a TCP port" % port)
        if chal.type == ChallengeType.HTTP01:
            if chal.http01_mode not in (HTTP01_WEBROOT, HTTP01_STANDALONE):
                raise ConfigError("http01_mode must be webroot or standalone")
        if chal.type == ChallengeType.DNS01 and not chal.dns_command:
            raise ConfigError("dns-01 needs dns_command (an argument list)")
        for contact in self.contact:
            if not contact.startswith(("mailto:", "tel:")):
                raise ConfigError("contact %r must be a mailto: URI" % contact)
        Window.parse(self.renew_window, "renew window")
        Window.parse(self.warn_window, "warn window")
        if self.order_timeout <= 0 or self.request_timeout <= 0:
            raise ConfigError("timeouts must be positive")
        return self


# The keys of a managed domain, in module parameters and in the host's config file alike.
MD_KEYS = frozenset({
    "name", "domains", "key_types", "acme_directory", "ca_bundle", "eab_kid", "eab_hmac_key", "eab_alg", "cas",
    "challenge", "http01_mode", "standalone_address", "standalone_port", "tls_alpn_port", "dns_command",
    "dns_propagation_seconds",
    "dns_command_timeout", "contact", "agree_tos", "account_key_type", "renew_window", "warn_window",
    "preferred_chain", "profile", "ari", "proxy", "request_timeout", "order_timeout",
})


def _ca_list(doc: dict) -> list[CaConfig]:
    cas = doc.get("cas") or []
    if doc.get("acme_directory"):
        cas = [{"url": doc["acme_directory"], "ca_bundle": doc.get("ca_bundle"), "eab_kid": doc.get("eab_kid"),
                "eab_hmac_key": doc.get("eab_hmac_key"), "eab_alg": doc.get("eab_alg") or "HS256"}] + list(cas)
    out = []
    for item in cas:
        if not isinstance(item, dict) or not item.get("url"):
            raise ConfigError("every entry of cas needs a url")
        out.append(CaConfig(url=item["url"], ca_bundle=item.get("ca_bundle"), eab_kid=item.get("eab_kid"),
                            eab_hmac_key=item.get("eab_hmac_key"), eab_alg=item.get("eab_alg") or "HS256"))
    return out


def md_config_from_dict(doc: dict) -> MdConfig:
    """Build an MdConfig from module parameters or a config file entry (the same key names);
    None values take the defaults. Raises ConfigError naming the bad key."""
    if not isinstance(doc, dict):
        raise ConfigError("a managed domain must be a mapping")
    domains = doc.get("domains")
    if isinstance(domains, str) or not isinstance(domains, list):
        raise ConfigError("domains must be a list of names")

    def get(key: str, default):
        value = doc.get(key)
        return default if value is None else value

    try:
        challenge = ChallengeConfig(
            type=get("challenge", ChallengeType.HTTP01), http01_mode=get("http01_mode", HTTP01_WEBROOT),
            standalone_address=get("standalone_address", "0.0.0.0"), standalone_port=int(get("standalone_port", 80)),
            tls_alpn_port=int(get("tls_alpn_port", 443)),
            dns_command=list(get("dns_command", [])),
            dns_propagation_seconds=float(get("dns_propagation_seconds", 0)),
            dns_command_timeout=float(get("dns_command_timeout", 60)),
        )
        cfg = MdConfig(
            name=get("name", ""), domains=list(domains), cas=_ca_list(doc),
            key_types=list(get("key_types", ["p256"])), challenge=challenge, contact=list(get("contact", [])),
            agree_tos=bool(get("agree_tos", False)), account_key_type=get("account_key_type", "p256"),
            renew_window=str(get("renew_window", "33%")), warn_window=str(get("warn_window", "10%")),
            preferred_chain=doc.get("preferred_chain"), profile=doc.get("profile"), ari=bool(get("ari", True)),
            proxy=doc.get("proxy"),
            request_timeout=float(get("request_timeout", 30)), order_timeout=float(get("order_timeout", 300)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError("invalid managed domain options: %s" % exc) from None
    return cfg.validate()
