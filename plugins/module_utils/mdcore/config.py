"""A managed domain's configuration, validated completely before anything acts on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .acme.resources import ChallengeType, Identifier
from .challenges.persist_value import POLICY_NONE, POLICY_WILDCARD, check_issuer
from .clock import from_iso
from .errors import ChallengeError, ConfigError, StoreError
from .fleet.roles import check_host_name, check_host_names, default_host
from .keytypes import key_spec
from .options.check import check_options
from .options.domain import (
    ACCOUNT_KEYS,
    ACCOUNT_OPTIONS,
    CA_OPTIONS,
    DEFAULT_KEY_TYPES,
    DEFAULT_RENEW_WINDOW,
    DEFAULT_WARN_WINDOW,
    DOMAIN,
    HOST_ENTRY_OPTIONS,
)
from .options.model import Kind, Option, by_name
from .store import check_md_name
from .window import Window

if TYPE_CHECKING:  # the DNS side (dnspython's finder, TSIG keys, the pre-check's resolvers) is
    # imported for the domains that use it: a run of http-01 domains never loads it
    from .challenges.dnspersist01 import PersistOptions
    from .dnsclient.settings import Rfc2136Settings

LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

HTTP01_WEBROOT = "webroot"
HTTP01_STANDALONE = "standalone"


class DnsProvider:
    """How dns-01 records are placed: an operator's command, or RFC 2136 dynamic updates."""

    COMMAND = "command"
    RFC2136 = "rfc2136"


DNS_PROVIDERS = (DnsProvider.COMMAND, DnsProvider.RFC2136)


def normalize_name(name: str) -> str:
    """Lower-case DNS name in its IDNA 2008 (UTS 46, non-transitional) ASCII form, or an IP
    address; raises ConfigError saying what is wrong. IDNA 2008, not Python's IDNA 2003 codec:
    that one maps 'faß.de' to 'fass.de', another domain."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("empty domain name")
    raw = name.strip().rstrip(".")
    if ":" in raw or raw[-1:].isdigit():  # a DNS name ends in a letter (its top-level label is not numeric)
        import ipaddress

        try:
            return str(ipaddress.ip_address(raw))
        except ValueError:
            pass
    wildcard = raw.startswith("*.")
    body = raw[2:] if wildcard else raw
    if "" in body.split("."):
        raise ConfigError("invalid domain name %s: empty label" % _shown(name))
    shown = _shown(name)
    body = _ascii_form(shown, body)
    labels = body.split(".")
    for label in labels:
        if len(label) > 63:
            raise ConfigError("invalid domain name %s: the label %r... is %d characters long, at most 63"
                              % (shown, label[:20], len(label)))
        if not LABEL_RE.match(label):
            raise ConfigError("invalid domain name %s: the label %s may hold only letters, digits and '-' "
                              "(not first or last)" % (shown, _shown(label, 40)))
    if len(body) > 253:
        raise ConfigError("invalid domain name %s: %d characters, a DNS name has at most 253" % (shown, len(body)))
    if len(labels) < 2:
        raise ConfigError("invalid domain name %s: a certificate name needs at least two labels" % shown)
    if labels[-1].isdigit():
        raise ConfigError("invalid domain name %s (numeric top-level label)" % shown)
    return ("*." if wildcard else "") + body


def _shown(text: str, limit: int = 80) -> str:
    """A name as messages quote it: repr, cut short when very long (a 300-character label)."""
    return repr(text) if len(text) <= limit else "%r... (%d characters)" % (text[:limit], len(text))


def _ascii_form(shown: str, body: str) -> str:
    if body.isascii():
        return body.lower()
    try:
        import idna  # IDNA 2008 / UTS 46 (python3-idna): only internationalized names need it
    except ImportError:
        raise ConfigError("cannot check the internationalized name %s: the idna library is missing "
                          "(Debian: python3-idna)" % shown) from None
    try:
        return idna.encode(body, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ConfigError("invalid domain name %s (IDNA 2008): %s" % (shown, exc)) from None


def md_name_for(first_domain: str) -> str:
    """The managed domain's store name when none is given: its first name, normalised, with a
    wildcard's '*' as '_' (folder names). The role's filters use the same rule."""
    return normalize_name(first_domain).replace("*", "_")


EMAIL_RE = re.compile(r"^[^@\s:/<>]+@[^@\s:/<>]+\.[^@\s:/<>]+$")


def contact_uri(contact: str) -> str:
    """An account contact as RFC 8555 wants it (a mailto: URI); a bare address, as mod_md's
    MDContactEmail and community.crypto take it, becomes one."""
    text = contact.strip() if isinstance(contact, str) else ""
    if text.startswith("mailto:") and EMAIL_RE.match(text[len("mailto:"):]):
        return text
    if EMAIL_RE.match(text):
        return "mailto:" + text
    raise ConfigError("contact %r must be an e-mail address (hostmaster@example.org) or a mailto: URI" % (contact,))


def table_default(name: str, options: dict = DOMAIN):
    """A dataclass default from the option table (options/domain.py), not a copy of it."""
    opt = options[name]
    return float(opt.default) if opt.kind == Kind.DURATION else opt.default


def table_list(name: str, options: dict = DOMAIN):
    """A dataclass default_factory: a fresh copy of the option table's list default."""
    value = options[name].default
    return lambda: list(value)


@dataclass
class CaConfig:
    url: str
    ca_bundle: str | None = None  # CA bundle that verifies the ACME server's TLS certificate
    eab_kid: str | None = None
    eab_hmac_key: str | None = None  # secret
    eab_alg: str = table_default("eab_alg", by_name(CA_OPTIONS))

    def __repr__(self) -> str:  # the HMAC key must never show up in logs or tracebacks
        return "CaConfig(url=%r, eab_kid=%r)" % (self.url, self.eab_kid)


@dataclass
class AccountConfig:
    """An ACME account to hold for the fleet: a CA and how to register there (mdcore.fleet)."""

    ca: CaConfig
    contact: list[str] = field(default_factory=table_list("contact"))
    agree_tos: bool = table_default("agree_tos")
    account_key_type: str = table_default("account_key_type")
    proxy: str | None = None
    request_timeout: float = table_default("request_timeout")


@dataclass
class ChallengeConfig:
    type: str = ChallengeType.HTTP01
    http01_mode: str = HTTP01_WEBROOT
    standalone_address: str = table_default("standalone_address")  # the engine's own listeners (http-01, tls-alpn-01)
    standalone_port: int = table_default("standalone_port")
    tls_alpn_port: int = table_default("tls_alpn_port")
    dns_provider: str = DnsProvider.COMMAND
    dns_command: list[str] = field(default_factory=table_list("dns_command"))
    dns_propagation_seconds: float = table_default("dns_propagation_seconds")  # after the records are placed
    dns_command_timeout: float = table_default("dns_command_timeout")
    rfc2136: Rfc2136Settings | None = None
    dns_persist_policy: str = POLICY_NONE  # dns-persist-01: POLICY_WILDCARD covers *.<name> too
    dns_persist_until: int | None = None  # dns-persist-01: the record's persistUntil (unix seconds)
    dns_persist_issuer: str | None = None  # dns-persist-01: which of the CA's issuer domain names
    dns_persist_precheck: bool = table_default("dns_persist_precheck")  # look the record up before the CA does
    dns_persist_resolvers: list[str] = field(default_factory=table_list("dns_persist_resolvers"))  # pre-check asks them

    def persist_options(self) -> PersistOptions:
        from .challenges.dnspersist01 import PersistOptions
        from .dnsquery import parse_nameserver

        return PersistOptions(self.dns_persist_policy, self.dns_persist_until, self.dns_persist_issuer,
                              self.dns_persist_precheck,
                              tuple(parse_nameserver(r) for r in self.dns_persist_resolvers))


@dataclass
class MdConfig:
    name: str
    domains: list[str]
    cas: list[CaConfig]
    key_types: list[str] = field(default_factory=lambda: list(DEFAULT_KEY_TYPES))
    challenge: ChallengeConfig = field(default_factory=ChallengeConfig)
    contact: list[str] = field(default_factory=table_list("contact"))
    agree_tos: bool = table_default("agree_tos")
    account_key_type: str = table_default("account_key_type")
    renew_window: str = DEFAULT_RENEW_WINDOW
    warn_window: str = DEFAULT_WARN_WINDOW
    preferred_chain: str | None = None
    profile: str | None = None
    ari: bool = table_default("ari")  # RFC 9773 renewal information where the CA offers it
    proxy: str | None = None
    request_timeout: float = table_default("request_timeout")
    order_timeout: float = table_default("order_timeout")  # deadline for one whole order, polling included
    issuer: str | None = None  # a shared domain: the fleet host that orders it (mdcore.fleet)
    members: list[str] = field(default_factory=table_list("members"))  # who serves a shared domain (for status)
    host: str | None = None  # this host's fleet name (the host config's "host"), default its FQDN
    account_holder: str | None = None  # the fleet host that holds the ACME accounts, when one does

    @property
    def fleet_host(self) -> str:
        return self.host or default_host()

    @property
    def imported(self) -> bool:
        """A shared domain ordered by another host: this host only imports its sets."""
        return bool(self.issuer) and self.issuer != self.fleet_host

    @property
    def may_register(self) -> bool:
        """Whether this host registers ACME accounts itself (not when another host holds them)."""
        return not self.account_holder or self.account_holder == self.fleet_host

    def validate(self) -> MdConfig:
        """Normalise names and check every option; raises ConfigError naming what is wrong."""
        if not self.domains:
            raise ConfigError("managed domain %r has no names" % self.name)
        names = [normalize_name(n) for n in self.domains]
        if len(set(names)) != len(names):
            raise ConfigError("managed domain %r lists a name twice" % self.name)
        self.domains = names
        self.name = self.name or md_name_for(names[0])
        try:
            check_md_name(self.name)
        except StoreError as exc:  # a bad name is bad input (not retried), not a store failure
            raise ConfigError(str(exc)) from None
        if not self.key_types:
            raise ConfigError("managed domain %r has no key types" % self.name)
        self.key_types = [key_spec(k).name for k in self.key_types]
        if len(set(self.key_types)) != len(self.key_types):
            raise ConfigError("managed domain %r lists a key type twice" % self.name)
        if not self.cas:
            raise ConfigError("managed domain %r needs an ACME directory URL (acme_directory or cas)" % self.name)
        for ca in self.cas:
            if bool(ca.eab_kid) != bool(ca.eab_hmac_key):
                raise ConfigError("EAB needs both eab_kid and eab_hmac_key (%s)" % ca.url)
        chal = self.challenge
        if chal.type not in CHALLENGE_TYPES:
            raise ConfigError("unsupported challenge type %r (%s)" % (chal.type, ", ".join(CHALLENGE_TYPES)))
        if chal.type == ChallengeType.DNSPERSIST01:
            _check_persist(chal, names)
        if chal.type in (ChallengeType.HTTP01, ChallengeType.TLSALPN01):
            wild = [n for n in names if n.startswith("*.")]
            if wild:
                raise ConfigError("wildcard names need dns-01 or dns-persist-01, not %s: %s"
                                  % (chal.type, ", ".join(wild)))
        _check_dns01(chal)
        self.contact = [contact_uri(c) for c in self.contact]
        Window.parse(self.renew_window, "renew window")
        Window.parse(self.warn_window, "warn window")
        self._validate_fleet()
        return self

    def _validate_fleet(self) -> None:
        if self.issuer is not None:
            self.issuer = check_host_name(self.issuer, "issuer")
        self.members = check_host_names(self.members, "members")
        if self.members and not self.issuer:
            raise ConfigError("members are listed for a shared domain only: set issuer (the host that orders it)")
        if self.host is not None:
            self.host = check_host_name(self.host, "host")
        if self.account_holder is not None:
            self.account_holder = check_host_name(self.account_holder, "account_holder")
        if self.members and self.fleet_host != self.issuer and self.fleet_host not in self.members:
            raise ConfigError("this host (%s) is neither the issuer (%s) nor one of the members (%s)"
                              % (self.fleet_host, self.issuer, ", ".join(self.members)))


CHALLENGE_TYPES = (ChallengeType.HTTP01, ChallengeType.DNS01, ChallengeType.TLSALPN01, ChallengeType.DNSPERSIST01)


def _check_dns01(chal: ChallengeConfig) -> None:
    if chal.dns_provider not in DNS_PROVIDERS:
        raise ConfigError("unknown dns_provider %r (%s)" % (chal.dns_provider, " or ".join(DNS_PROVIDERS)))
    if chal.type != ChallengeType.DNS01:
        return
    if chal.dns_provider == DnsProvider.COMMAND and not chal.dns_command:
        if chal.rfc2136 is not None:
            raise ConfigError("rfc2136 settings are given, but dns_provider is command: set dns_provider: rfc2136")
        raise ConfigError("dns-01 needs dns_command (an argument list), or dns_provider: rfc2136 with its "
                          "rfc2136 settings")
    if chal.dns_provider == DnsProvider.RFC2136:
        if chal.rfc2136 is None:
            raise ConfigError("dns_provider rfc2136 needs the rfc2136 settings (server, and key_name with "
                              "key_secret or key_file)")
        from .dnsquery import require_dnspython

        require_dnspython("dns_provider rfc2136")


def _check_persist(chal: ChallengeConfig, names: list[str]) -> None:
    """dns-persist-01 validates DNS names only; a wildcard needs the record's policy=wildcard."""
    ips = [n for n in names if Identifier.for_name(n).type == "ip"]
    if ips:
        raise ConfigError("dns-persist-01 validates DNS names only, not IP addresses: %s" % ", ".join(ips))
    if chal.dns_persist_policy not in (POLICY_NONE, POLICY_WILDCARD):
        raise ConfigError("dns_persist_policy must be %s or %s, not %r"
                          % (POLICY_WILDCARD, POLICY_NONE, chal.dns_persist_policy))
    wild = [n for n in names if n.startswith("*.")]
    if wild and chal.dns_persist_policy != POLICY_WILDCARD:
        raise ConfigError("wildcard names need dns_persist_policy: wildcard with dns-persist-01: %s"
                          % ", ".join(wild))
    if chal.dns_persist_issuer is not None:
        try:
            check_issuer(chal.dns_persist_issuer, "dns_persist_issuer")
        except ChallengeError as exc:
            raise ConfigError(str(exc)) from None
    chal.persist_options()  # the resolvers parse


def persist_until(value) -> int | None:
    """persistUntil from config: unix seconds, or an ISO 8601 time or date ('2027-06-30',
    '2027-06-30T00:00:00Z'; without a zone: UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError("dns_persist_until must be a time (unix seconds or ISO 8601), not %r" % (value,))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = int(value)
    else:
        try:
            moment = from_iso(str(value).strip())
        except ValueError:
            raise ConfigError("dns_persist_until %r is neither unix seconds nor an ISO 8601 time" % value) from None
        seconds = int(moment.timestamp()) if moment else 0
    if not 0 < seconds < 2 ** 63:
        raise ConfigError("dns_persist_until %r is out of range" % value)
    return seconds


# The keys of a managed domain in the host config's "domains" entries (options/domain.py).
MD_KEYS = frozenset(opt.name for opt in HOST_ENTRY_OPTIONS)
MERGED_KEYS = tuple(opt.name for opt in HOST_ENTRY_OPTIONS if opt.extra.get("merge"))  # rfc2136


def _ca(item: dict) -> CaConfig:
    return CaConfig(url=item["url"], ca_bundle=item.get("ca_bundle"), eab_kid=item.get("eab_kid"),
                    eab_hmac_key=item.get("eab_hmac_key"), eab_alg=item.get("eab_alg") or CaConfig.eab_alg)


def _ca_list(values: dict) -> list[CaConfig]:
    """The CAs in the order they are tried: acme_directory (with the top-level EAB keys), then cas."""
    cas = [_ca(item) for item in values.get("cas") or []]
    if values.get("acme_directory"):
        cas.insert(0, _ca(dict(values, url=values["acme_directory"])))
    return cas


def md_config_from_dict(doc: dict, host: str | None = None, account_holder: str | None = None,
                        notes: list[str] | None = None, options: tuple[Option, ...] = HOST_ENTRY_OPTIONS,
                        memo: dict | None = None) -> MdConfig:
    """An MdConfig from module parameters (``options``: the module's) or a config file entry; None
    values take the defaults, every value is checked strictly (options/check.py). ``host`` /
    ``account_holder``: the host config's fleet keys; ``notes`` collects deprecation warnings.
    ``memo``: check_options' memo, shared by the domains of one host config. Raises ConfigError
    naming the bad key."""
    values = check_options(options, doc, "", notes, memo=memo)
    rfc2136 = None
    if values.get("rfc2136") is not None:  # TSIG keys and the DNS side: only for domains that use them
        from .dnsclient.settings import rfc2136_from_dict

        rfc2136 = rfc2136_from_dict(values["rfc2136"])
    chal = ChallengeConfig(
        type=values["challenge"], http01_mode=values["http01_mode"], standalone_address=values["standalone_address"],
        standalone_port=values["standalone_port"], tls_alpn_port=values["tls_alpn_port"],
        dns_provider=values["dns_provider"], dns_command=values["dns_command"],
        dns_propagation_seconds=values["dns_propagation_seconds"], dns_command_timeout=values["dns_command_timeout"],
        rfc2136=rfc2136,
        dns_persist_policy=values["dns_persist_policy"], dns_persist_until=persist_until(values["dns_persist_until"]),
        dns_persist_issuer=(values["dns_persist_issuer"] or "").strip().rstrip(".").lower() or None,
        dns_persist_precheck=values["dns_persist_precheck"], dns_persist_resolvers=values["dns_persist_resolvers"],
    )
    cfg = MdConfig(
        name=values.get("name") or "", domains=values["domains"], cas=_ca_list(values), key_types=values["key_types"],
        challenge=chal, contact=values["contact"], agree_tos=values["agree_tos"],
        account_key_type=values["account_key_type"], renew_window=values["renew_window"],
        warn_window=values["warn_window"], preferred_chain=values["preferred_chain"], profile=values["profile"],
        ari=values["ari"], proxy=values["proxy"], request_timeout=values["request_timeout"],
        order_timeout=values["order_timeout"], issuer=values.get("issuer"), members=values.get("members") or [],
        host=host, account_holder=account_holder,
    )
    return cfg.validate()


ACCOUNT_DEFAULTS = ACCOUNT_KEYS  # what an "accounts" entry takes from the host config's defaults


def account_config_from_dict(doc: dict, defaults: dict | None = None) -> AccountConfig:
    """An AccountConfig from an "accounts" entry; raises ConfigError naming what is wrong."""
    if not isinstance(doc, dict):
        raise ConfigError("an account entry must be an object")
    merged = {k: v for k, v in (defaults or {}).items() if k in ACCOUNT_DEFAULTS and v is not None}
    merged.update({k: v for k, v in doc.items() if v is not None})
    values = check_options(ACCOUNT_OPTIONS, merged, "")
    ca = _ca(values)
    if bool(ca.eab_kid) != bool(ca.eab_hmac_key):
        raise ConfigError("EAB needs both eab_kid and eab_hmac_key (%s)" % ca.url)
    return AccountConfig(ca=ca, contact=[contact_uri(c) for c in values["contact"]], agree_tos=values["agree_tos"],
                         account_key_type=values["account_key_type"], proxy=values["proxy"],
                         request_timeout=values["request_timeout"])


def account_config_of(cfg: MdConfig, ca: CaConfig) -> AccountConfig:
    """How a managed domain registers its account at ``ca``."""
    return AccountConfig(ca=ca, contact=list(cfg.contact), agree_tos=cfg.agree_tos,
                         account_key_type=cfg.account_key_type, proxy=cfg.proxy,
                         request_timeout=cfg.request_timeout)
