"""The host's configuration file (/etc/mdfleet/config.json), validated whole before anything acts.

JSON, because Debian's python3 reads it without extra packages. Errors name the file, the key
and what is wrong: "config.json: domains[1] (shop): key_types: unknown key type 'rsa1024'".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .config import ACCOUNT_KEYS, MD_KEYS, AccountConfig, MdConfig, account_config_from_dict, md_config_from_dict
from .errors import ConfigError
from .fleet.roles import check_host_name, default_host
from .jsonconfig import argv_list as _argv
from .jsonconfig import config_error as _fail
from .jsonconfig import load_json_file
from .window import Window

TOP_KEYS = frozenset({"store", "challenges_dir", "workers", "lock_wait", "run_timeout", "defaults", "domains",
                      "message_cmd", "message_timeout", "stapling", "reload", "status", "comment", "host",
                      "account_holder", "accounts"})
STAPLING_KEYS = frozenset({"enabled", "window", "timeout", "proxy", "keep_days", "others", "haproxy_socket",
                           "nginx_dir", "haproxy_ocsp_files"})
RELOAD_KEYS = frozenset({"test_command", "reload_command", "timeout"})
STATUS_KEYS = frozenset({"prometheus_file", "publish_dir", "key_names"})
NESTED_RFC2136 = "rfc2136"  # the one managed-domain option merged key by key with the defaults'


@dataclass
class ReloadConfig:
    """The web server's own config test, then its reload: both argument lists, never a shell."""

    test_command: list[str] = field(default_factory=list)
    reload_command: list[str] = field(default_factory=list)
    timeout: float = 60.0


@dataclass
class StaplingOptions:
    enabled: bool = True
    window: str = "33%"
    timeout: float = 10.0
    proxy: str | None = None
    keep_days: float = 7.0
    others: list[dict] = field(default_factory=list)
    haproxy_socket: str | None = None
    nginx_dir: str | None = None  # where nginx reads ssl_stapling_file (<dir>/<md>.<keytype>.der)
    haproxy_ocsp_files: bool = False  # write <fullchain>.ocsp beside each managed certificate


@dataclass
class HostConfig:
    path: str
    store: str = "/var/lib/mdfleet"
    challenges_dir: str | None = None
    workers: int = 4
    lock_wait: float = 600.0
    # The longest one run (mdfleet drive/renew/staple) takes, its wait for the store lock included:
    # below the service's TimeoutStartSec, so systemd never kills a run (docs/architecture.md).
    run_timeout: float = 1680.0
    domains: list[MdConfig] = field(default_factory=list)
    message_cmd: list[str] = field(default_factory=list)
    message_timeout: float = 30.0
    stapling: StaplingOptions = field(default_factory=StaplingOptions)
    reload: ReloadConfig = field(default_factory=ReloadConfig)
    prometheus_file: str | None = None
    status_publish_dir: str | None = None  # md-status.json, index.html, domains/ copied here (web-readable)
    status_key_names: str = "mdfleet"  # how md-status names certificates: "mdfleet" (p256) or "mod_md" (secp256r1)
    host: str | None = None  # this host's fleet name (inventory_hostname); its FQDN when absent
    account_holder: str | None = None  # the fleet host that holds the ACME accounts
    accounts: list[AccountConfig] = field(default_factory=list)  # further CAs the holder holds

    @property
    def fleet_host(self) -> str:
        return self.host or default_host()

    @property
    def holds_accounts(self) -> bool:
        """This host registers accounts (no holder named, or it is the holder)."""
        return not self.account_holder or self.account_holder == self.fleet_host

    def domain(self, name: str) -> MdConfig | None:
        return next((md for md in self.domains if md.name == name), None)


def _unknown(path: str, where: str, doc: dict, known: frozenset) -> None:
    extra = sorted(set(doc) - known)
    if extra:
        raise _fail(path, where, "unknown key%s %s" % ("s" if len(extra) > 1 else "", ", ".join(extra)))


def parse_host_config(doc: object, path: str = "config.json") -> HostConfig:
    if not isinstance(doc, dict):
        raise _fail(path, "top level", "must be a JSON object")
    _unknown(path, "top level", doc, TOP_KEYS)
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _fail(path, "defaults", "must be an object")
    _unknown(path, "defaults", defaults, MD_KEYS)
    cfg = HostConfig(path=path)
    cfg.store = str(doc.get("store") or cfg.store)
    cfg.challenges_dir = doc.get("challenges_dir")
    try:
        cfg.workers = int(doc.get("workers", cfg.workers))
        cfg.lock_wait = float(doc.get("lock_wait", cfg.lock_wait))
        cfg.message_timeout = float(doc.get("message_timeout", cfg.message_timeout))
    except (TypeError, ValueError) as exc:
        raise _fail(path, "top level", str(exc)) from None
    if cfg.workers < 1:
        raise _fail(path, "workers", "must be at least 1")
    run_timeout = doc.get("run_timeout", cfg.run_timeout)
    if isinstance(run_timeout, bool) or not isinstance(run_timeout, (int, float)) or \
            not 0 < run_timeout < float("inf"):
        raise _fail(path, "run_timeout", "must be a positive number of seconds, not %r" % (run_timeout,))
    cfg.run_timeout = float(run_timeout)
    cfg.message_cmd = _argv(path, "message_cmd", doc.get("message_cmd"))
    for key in ("host", "account_holder"):
        if doc.get(key) is not None:
            try:
                setattr(cfg, key, check_host_name(doc[key], key))
            except ConfigError as exc:
                raise _fail(path, key, str(exc)) from None
    cfg.accounts = _accounts(path, doc.get("accounts"), defaults)
    domains = doc.get("domains")
    if not isinstance(domains, list):
        raise _fail(path, "domains", "must be a list of managed domains")
    seen: set[str] = set()
    for index, entry in enumerate(domains):
        where = "domains[%d]" % index
        if not isinstance(entry, dict):
            raise _fail(path, where, "must be an object")
        where += " (%s)" % (entry.get("name") or (entry.get("domains") or ["?"])[0])
        _unknown(path, where, entry, MD_KEYS)
        merged = dict(defaults)
        merged.update(entry)
        if isinstance(defaults.get(NESTED_RFC2136), dict) and isinstance(entry.get(NESTED_RFC2136), dict):
            # a domain's rfc2136 keys override the defaults' one by one (server and key set once)
            merged[NESTED_RFC2136] = dict(defaults[NESTED_RFC2136], **entry[NESTED_RFC2136])
        try:
            md = md_config_from_dict(merged, host=cfg.host, account_holder=cfg.account_holder)
        except ConfigError as exc:
            raise _fail(path, where, str(exc)) from None
        if md.name in seen:
            raise _fail(path, where, "managed domain name %r is used twice" % md.name)
        seen.add(md.name)
        cfg.domains.append(md)
    cfg.stapling = _stapling(path, doc.get("stapling") or {})
    cfg.reload = _reload(path, doc.get("reload") or {})
    status = doc.get("status") or {}
    if not isinstance(status, dict):
        raise _fail(path, "status", "must be an object")
    _unknown(path, "status", status, STATUS_KEYS)
    cfg.prometheus_file = _optional_path(path, "status.prometheus_file", status.get("prometheus_file"))
    cfg.status_publish_dir = _optional_path(path, "status.publish_dir", status.get("publish_dir"))
    key_names = status.get("key_names", cfg.status_key_names)
    if key_names not in ("mdfleet", "mod_md"):
        raise _fail(path, "status.key_names", "must be mdfleet or mod_md, not %r" % (key_names,))
    cfg.status_key_names = key_names
    publish = cfg.status_publish_dir
    if publish and (os.path.abspath(publish) + os.sep).startswith(os.path.abspath(cfg.store) + os.sep):
        raise _fail(path, "status.publish_dir", "%s is inside the store %s, which only root may read: a web "
                                                "server cannot serve it from there" % (publish, cfg.store))
    return cfg


def _accounts(path: str, doc: object, defaults: dict) -> list[AccountConfig]:
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise _fail(path, "accounts", "must be a list of ACME accounts (url, ...)")
    out: list[AccountConfig] = []
    for index, entry in enumerate(doc):
        where = "accounts[%d]" % index
        if not isinstance(entry, dict):
            raise _fail(path, where, "must be an object")
        _unknown(path, where, entry, ACCOUNT_KEYS)
        try:
            out.append(account_config_from_dict(entry, defaults))
        except ConfigError as exc:
            raise _fail(path, where, str(exc)) from None
    return out


def _optional_path(path: str, where: str, value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise _fail(path, where, "must be an absolute path, not %r" % (value,))
    return value


def _stapling(path: str, doc: dict) -> StaplingOptions:
    if not isinstance(doc, dict):
        raise _fail(path, "stapling", "must be an object")
    _unknown(path, "stapling", doc, STAPLING_KEYS)
    opts = StaplingOptions()
    try:
        opts.enabled = bool(doc.get("enabled", True))
        opts.window = str(doc.get("window", opts.window))
        Window.parse(opts.window, "stapling window")
        opts.timeout = float(doc.get("timeout", opts.timeout))
        opts.keep_days = float(doc.get("keep_days", opts.keep_days))
    except (TypeError, ValueError) as exc:
        raise _fail(path, "stapling", str(exc)) from None
    except ConfigError as exc:
        raise _fail(path, "stapling.window", str(exc)) from None
    opts.proxy = doc.get("proxy")
    opts.haproxy_socket = doc.get("haproxy_socket")
    opts.nginx_dir = doc.get("nginx_dir")
    opts.haproxy_ocsp_files = bool(doc.get("haproxy_ocsp_files", False))
    others = doc.get("others") or []
    if not isinstance(others, list):
        raise _fail(path, "stapling.others", "must be a list")
    for index, other in enumerate(others):
        if not isinstance(other, dict) or not other.get("cert"):
            raise _fail(path, "stapling.others[%d]" % index, "needs at least a cert path")
    opts.others = list(others)
    return opts


def _reload(path: str, doc: dict) -> ReloadConfig:
    if not isinstance(doc, dict):
        raise _fail(path, "reload", "must be an object")
    _unknown(path, "reload", doc, RELOAD_KEYS)
    rel = ReloadConfig(test_command=_argv(path, "reload.test_command", doc.get("test_command")),
                       reload_command=_argv(path, "reload.reload_command", doc.get("reload_command")))
    if rel.reload_command and not rel.test_command:
        raise _fail(path, "reload", "a reload_command needs the server's test_command (a broken config must "
                                    "never take a running server down)")
    try:
        rel.timeout = float(doc.get("timeout", rel.timeout))
    except (TypeError, ValueError) as exc:
        raise _fail(path, "reload.timeout", str(exc)) from None
    return rel


def load_host_config(path: str) -> HostConfig:
    return parse_host_config(load_json_file(path), path)
