"""The host's configuration file (/etc/mdfleet/config.json), validated whole before anything acts.

JSON, because Debian's python3 reads it without extra packages. Errors name the file, the key
and what is wrong: "config.json: domains[1] (shop): key_types: unknown key type 'rsa1024'".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .config import MERGED_KEYS, AccountConfig, MdConfig, account_config_from_dict, md_config_from_dict
from .errors import ConfigError
from .fleet.roles import check_host_name, default_host
from .jsonconfig import config_error as _fail
from .jsonconfig import load_json_file
from .options.check import check_options, key_error
from .options.domain import HOST_DEFAULTS_OPTIONS, HOST_ENTRY_OPTIONS
from .options.host import DEFAULT_STORE, HOST, HOST_OPTIONS, RELOAD_OPTIONS, STAPLING_OPTIONS
from .options.model import default_of
from .options.stapling import DEFAULT_KEEP, DEFAULT_STAPLING_WINDOW
from .statusconfig import section, top_level
from .window import duration_seconds


@dataclass
class ReloadConfig:
    """The web server's own config test, then its reload: both argument lists, never a shell."""

    test_command: list[str] = field(default_factory=list)
    reload_command: list[str] = field(default_factory=list)
    timeout: float = default_of(RELOAD_OPTIONS, "timeout")


@dataclass
class StaplingOptions:
    enabled: bool = True
    window: str = DEFAULT_STAPLING_WINDOW
    timeout: float = default_of(STAPLING_OPTIONS, "timeout")
    workers: int = default_of(STAPLING_OPTIONS, "workers")  # exchanges in flight, not the host's order workers
    proxy: str | None = None
    keep_seconds: float = duration_seconds(DEFAULT_KEEP) or 0.0  # responses of certificates no longer served
    others: list[dict] = field(default_factory=list)
    haproxy_socket: str | None = None
    nginx_dir: str | None = None  # where nginx reads ssl_stapling_file (<dir>/<md>.<keytype>.der)
    haproxy_ocsp_files: bool = False  # write <fullchain>.ocsp beside each managed certificate


@dataclass
class HostConfig:
    path: str
    store: str = DEFAULT_STORE
    challenges_dir: str | None = None
    workers: int = default_of(HOST_OPTIONS, "workers")
    lock_wait: float = default_of(HOST_OPTIONS, "lock_wait")
    # The longest one run (mdfleet drive/renew/staple) takes, its wait for the store lock included:
    # below the service's TimeoutStartSec, so systemd never kills a run (docs/architecture.md).
    run_timeout: float = float(default_of(HOST_OPTIONS, "run_timeout"))
    domains: list[MdConfig] = field(default_factory=list)
    message_cmd: list[str] = field(default_factory=list)
    message_timeout: float = default_of(HOST_OPTIONS, "message_timeout")
    stapling: StaplingOptions = field(default_factory=StaplingOptions)
    reload: ReloadConfig = field(default_factory=ReloadConfig)
    prometheus_file: str | None = None
    status_publish_dir: str | None = None  # md-status.json, index.html, domains/ copied here (web-readable)
    status_key_names: str = "mdfleet"  # how md-status names certificates: "mdfleet" (p256) or "mod_md" (secp256r1)
    host: str | None = None  # this host's fleet name (inventory_hostname); its FQDN when absent
    account_holder: str | None = None  # the fleet host that holds the ACME accounts
    accounts: list[AccountConfig] = field(default_factory=list)  # further CAs the holder holds
    notes: list[str] = field(default_factory=list)  # deprecated spellings met: warnings for the operator

    @property
    def fleet_host(self) -> str:
        return self.host or default_host()

    @property
    def holds_accounts(self) -> bool:
        """This host registers accounts (no holder named, or it is the holder)."""
        return not self.account_holder or self.account_holder == self.fleet_host

    def domain(self, name: str) -> MdConfig | None:
        return next((md for md in self.domains if md.name == name), None)


def parse_host_config(doc: object, path: str = "config.json") -> HostConfig:
    """The whole file checked against the option table (options/host.py): unknown keys, wrong types,
    NaN, empty strings where a default belongs - each a ConfigError naming the file and the key."""
    notes: list[str] = []
    scalars = top_level(doc, path, notes)
    cfg = HostConfig(path=path, store=scalars["store"], challenges_dir=scalars["challenges_dir"],
                     workers=scalars["workers"], lock_wait=scalars["lock_wait"], run_timeout=scalars["run_timeout"],
                     message_cmd=scalars["message_cmd"],
                     message_timeout=scalars["message_timeout"], notes=notes)
    for key in ("host", "account_holder"):
        if scalars[key] is not None:
            try:
                setattr(cfg, key, check_host_name(scalars[key], key))
            except ConfigError as exc:
                raise _fail(path, key, str(exc)) from None
    defaults = doc.get("defaults")
    defaults = {} if defaults is None else defaults
    check_options(HOST_DEFAULTS_OPTIONS, defaults, path, notes, prefix="defaults", defaults=False, partial=True)
    cfg.accounts = _accounts(path, doc.get("accounts"), defaults)
    cfg.domains = _domains(path, doc.get("domains"), defaults, cfg, notes)
    cfg.stapling = _stapling(path, doc, notes)
    cfg.reload = _reload(path, doc.get("reload"))
    status = section(doc, "status", path, notes)
    cfg.prometheus_file, cfg.status_publish_dir = status["prometheus_file"], status["publish_dir"]
    cfg.status_key_names = status["key_names"]
    publish = cfg.status_publish_dir
    if publish and (os.path.abspath(publish) + os.sep).startswith(os.path.abspath(cfg.store) + os.sep):
        raise _fail(path, "status.publish_dir", "%s is inside the store %s, which only root may read: a web "
                                                "server cannot serve it from there" % (publish, cfg.store))
    return cfg


def _label(index: int, entry: dict) -> str:
    """'domains[1] (shop)': where a managed domain's errors are, also when its name or names are broken."""
    name = entry.get("name")
    if not (isinstance(name, str) and name):
        names = entry.get("domains")
        name = names[0] if isinstance(names, list) and names and isinstance(names[0], str) else "?"
    return "domains[%d] (%s)" % (index, name[:60])


def _domains(path: str, doc: object, defaults: dict, cfg: HostConfig, notes: list[str]) -> list[MdConfig]:
    if not isinstance(doc, list):
        raise _fail(path, "domains", "must be a list of managed domains, not %s" % _shown(doc))
    out: list[MdConfig] = []
    seen: set[str] = set()
    memo: dict = {}  # the defaults' values, checked for the first domain only
    for index, entry in enumerate(doc):
        if not isinstance(entry, dict):
            raise _fail(path, "domains[%d]" % index, "must be an object, not %s" % _shown(entry))
        where = "%s: %s" % (path, _label(index, entry))
        check_options(HOST_ENTRY_OPTIONS, entry, where, notes, defaults=False, partial=True)  # its own keys
        merged = dict(defaults)
        merged.update({k: v for k, v in entry.items() if v is not None})
        for key in MERGED_KEYS:  # a domain's rfc2136 keys override the defaults' one by one
            if isinstance(defaults.get(key), dict) and isinstance(entry.get(key), dict):
                merged[key] = dict(defaults[key], **entry[key])
        try:
            md = md_config_from_dict(merged, host=cfg.host, account_holder=cfg.account_holder, memo=memo)
        except ConfigError as exc:
            raise ConfigError("%s: %s" % (where, exc)) from None
        if md.name in seen:
            raise ConfigError("%s: managed domain name %r is used twice" % (where, md.name))
        seen.add(md.name)
        out.append(md)
    return out


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _accounts(path: str, doc: object, defaults: dict) -> list[AccountConfig]:
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise _fail(path, "accounts", "must be a list of ACME accounts (url, ...)")
    out: list[AccountConfig] = []
    for index, entry in enumerate(doc):
        where = "accounts[%d]" % index
        check_options(HOST["accounts"].suboptions, entry, path, prefix=where, defaults=False)  # before the defaults
        try:
            out.append(account_config_from_dict(entry, defaults))
        except ConfigError as exc:
            raise _fail(path, where, str(exc)) from None
    return out


def _stapling(path: str, doc: dict, notes: list[str]) -> StaplingOptions:
    values = section(doc, "stapling", path, notes)
    keep = values["keep"]
    if values["keep_days"] is not None:
        if doc["stapling"].get("keep") is not None:  # keep_days given: the section is an object
            raise key_error(path, "stapling", "give keep or keep_days (deprecated), not both")
        keep = values["keep_days"] * 86400.0
        notes.append("%s: stapling.keep_days is deprecated: write \"keep\": \"%gd\"" % (path, values["keep_days"]))
    return StaplingOptions(enabled=values["enabled"], window=values["window"], timeout=values["timeout"],
                           workers=values["workers"], proxy=values["proxy"], keep_seconds=keep, others=values["others"],
                           haproxy_socket=values["haproxy_socket"], nginx_dir=values["nginx_dir"],
                           haproxy_ocsp_files=values["haproxy_ocsp_files"])


def _reload(path: str, doc: object) -> ReloadConfig:
    values = check_options(RELOAD_OPTIONS, {} if doc is None else doc, path, prefix="reload")
    rel = ReloadConfig(test_command=values["test_command"], reload_command=values["reload_command"],
                       timeout=values["timeout"])
    if rel.reload_command and not rel.test_command:
        raise _fail(path, "reload", "a reload_command needs the server's test_command (a broken config must "
                                    "never take a running server down)")
    return rel


def load_host_config(path: str) -> HostConfig:
    return parse_host_config(load_json_file(path), path)
