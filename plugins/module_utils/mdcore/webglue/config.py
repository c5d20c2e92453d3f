"""The glue's configuration (webglue.json, written by the role beside config.json), validated whole.

    {"server": "nginx" | "haproxy" | "apache2" | "none", "store": "/var/lib/mdfleet",
     "test_command": [...], "reload_command": [...],          # the web server's own, argument lists
     "nginx": {"stapling_dir": ..., "ocsp_dir": ...},         # includes; where the engine staples
     "haproxy": {"cert_dir": ..., "socket": ...}}             # combined crt files; stats socket or ""

Errors name the file and the key, as hostconfig's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..jsonconfig import argv_list, load_json_file
from ..jsonconfig import config_error as _fail


class Server:
    NGINX = "nginx"
    HAPROXY = "haproxy"
    APACHE2 = "apache2"  # nothing to write: mod_ssl reads the store's files and staples itself
    NONE = "none"
    ALL = (NGINX, HAPROXY, APACHE2, NONE)


TOP_KEYS = frozenset({"server", "store", "test_command", "reload_command", "nginx", "haproxy"})
NGINX_KEYS = frozenset({"stapling_dir", "ocsp_dir"})
HAPROXY_KEYS = frozenset({"cert_dir", "socket"})


@dataclass
class GlueConfig:
    path: str
    server: str
    store: str
    test_command: list[str] = field(default_factory=list)
    reload_command: list[str] = field(default_factory=list)
    nginx_stapling_dir: str = ""
    nginx_ocsp_dir: str = ""
    haproxy_cert_dir: str = ""
    haproxy_socket: str = ""  # "": the reload does not wait


def _section(path: str, doc: dict, name: str, known: frozenset, needed: tuple) -> dict:
    section = doc.get(name)
    section = {} if section is None else section
    if not isinstance(section, dict):
        raise _fail(path, name, "must be an object")
    extra = sorted(set(section) - known)
    if extra:
        raise _fail(path, name, "unknown key(s) %s" % ", ".join(extra))
    for key, value in section.items():
        if value is not None and not isinstance(value, str):
            raise _fail(path, "%s.%s" % (name, key), "must be a string")
    for key in needed:
        if not str(section.get(key) or "").startswith("/"):
            raise _fail(path, "%s.%s" % (name, key), "must be an absolute path")
    return section


def parse_glue_config(doc: object, path: str = "webglue.json") -> GlueConfig:
    if not isinstance(doc, dict):
        raise _fail(path, "top level", "must be a JSON object")
    extra = sorted(set(doc) - TOP_KEYS)
    if extra:
        raise _fail(path, "top level", "unknown key(s) %s" % ", ".join(extra))
    server = doc.get("server")
    if server not in Server.ALL:
        raise _fail(path, "server", "%r is not one of %s" % (server, ", ".join(Server.ALL)))
    store = doc.get("store")
    if not isinstance(store, str) or not store.startswith("/"):
        raise _fail(path, "store", "must be an absolute path")
    cfg = GlueConfig(path=path, server=server, store=store,
                     test_command=argv_list(path, "test_command", doc.get("test_command")),
                     reload_command=argv_list(path, "reload_command", doc.get("reload_command")))
    nginx = _section(path, doc, "nginx", NGINX_KEYS, NGINX_KEYS if server == Server.NGINX else ())
    haproxy = _section(path, doc, "haproxy", HAPROXY_KEYS, ("cert_dir",) if server == Server.HAPROXY else ())
    cfg.nginx_stapling_dir, cfg.nginx_ocsp_dir = nginx.get("stapling_dir") or "", nginx.get("ocsp_dir") or ""
    cfg.haproxy_cert_dir, cfg.haproxy_socket = haproxy.get("cert_dir") or "", haproxy.get("socket") or ""
    return cfg


def load_glue_config(path: str) -> GlueConfig:
    return parse_glue_config(load_json_file(path), path)


__all__ = ["GlueConfig", "Server", "load_glue_config", "parse_glue_config"]
