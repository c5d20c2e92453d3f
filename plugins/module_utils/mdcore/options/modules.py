"""The modules' parameters: which options of the table each module takes, plus its own. The
modules build their argument specs from these (``argument_spec``); their DOCUMENTATION options are
the doc fragments that scripts/gen_options.py writes from the same tables (plugins/doc_fragments/options.py)."""

from __future__ import annotations

from . import stapling
from .domain import DEFAULT_WARN_WINDOW, MODULE_DOMAIN_OPTIONS
from .host import DEFAULT_STORE, KEY_NAMES
from .model import Kind, Option

DEFAULT_WARN_OTHERS = DEFAULT_WARN_WINDOW  # the same default as a managed domain's

ACME_MD_ORDER = MODULE_DOMAIN_OPTIONS + (
    Option("store", Kind.PATH, "The mdfleet store folder (created with mode 0700).", default=DEFAULT_STORE),
    Option("challenges_dir", Kind.PATH, """
        Folder for http-01 tokens that the web server serves at C(/.well-known/acme-challenge/).

        Defaults to a folder beside the store, C(<store>-challenges) (V(/var/lib/mdfleet-challenges)), created with
        mode 0755. It must not be inside the store, which only root may read."""),
    Option("force", Kind.BOOL, "Order new certificates even when the current ones are fine.", default=False),
    Option("account_key_rollover", Kind.BOOL, """
        Replace the ACME account's key with a new one of type O(account_key_type) (RFC 8555 key change) before
        anything else. Always reports changed; not done in check mode.""", default=False),
)

OCSP_STAPLE = (
    Option("store", Kind.PATH, "The mdfleet store (responses live in its C(ocsp/) folder).", default=DEFAULT_STORE),
    Option("managed", Kind.BOOL, "Staple every active certificate of the store (each key type of each managed "
                                 "domain).", default=True),
    Option("domains", Kind.LIST, """
        With O(managed=true), only these managed domains. Default all.

        A name that matches no managed domain of the store (and a domain or key type in O(domain_options) that
        matches no certificate) gives a warning, as nothing is stapled for it.""", elements=Kind.STR),
    Option("domain_options", Kind.DICT, """
        Per managed domain (key = domain name) a dict with any of C(responder), C(staple_file), C(haproxy_ocsp_file),
        C(haproxy_socket). A nested dict per key type (for example C(rsa2048)) sets them for one certificate of the
        domain.

        Without C(staple_file) (and C(haproxy_ocsp_file)), the store keeps a copy of the response that nginx can
        point C(ssl_stapling_file) at, C(<store>/ocsp/<domain>/<key type>.der).""", default={}),
    stapling.HAPROXY_OCSP_FILES,
    Option("certificates", Kind.LIST, "Other certificate files to staple (not managed by the store).",
           elements=Kind.DICT, suboptions=stapling.OTHER_CERT_OPTIONS, default=()),
    stapling.WINDOW, stapling.TIMEOUT, stapling.PROXY,
    stapling.METHOD, stapling.WORKERS,
    stapling.KEEP, stapling.HAPROXY_SOCKET,
    Option("lock_wait", Kind.DURATION, "How long to wait for the store lock held by another mdfleet run (seconds, "
                                       "or a duration).", default=60, low=0, high=86400),
)

MD_STATUS = (
    Option("store", Kind.PATH, """
        The mdfleet store folder. Defaults to the store named in O(config), else C(/var/lib/mdfleet).

        A store that does not exist yet gives an empty list of managed domains."""),
    Option("config", Kind.PATH, """
        The host's mdfleet configuration file (C(/etc/mdfleet/config.json)); when given, its store and its
        monitored certificate files (C(stapling.others)) are used."""),
    Option("names", Kind.LIST, "Only these managed domains (by name). All when omitted.", elements=Kind.STR),
    Option("others", Kind.LIST, "Further certificate files (PEM) to report, as mod_md reports static certificate "
                                "files.", elements=Kind.PATH, default=()),
    Option("warn_window", Kind.WINDOW, "Warn window for the files of O(others) (managed domains have their own).",
           default=DEFAULT_WARN_OTHERS),
    Option("key_names", Kind.STR, """
        How the facts name each domain's certificates under C(cert) - by our key types (V(mdfleet) - C(p256),
        C(rsa2048)) or by mod_md's (V(mod_md) - C(secp256r1), C(secp384r1), C(rsa)), so that scripts written for
        mod_md's md-status work unchanged.

        Defaults to the host config's C(status.key_names) when O(config) is given, else V(mdfleet).""",
           choices=KEY_NAMES),
)

MD_FLEET_REPORT = (
    Option("statuses", Kind.DICT, """
        Host name to that host's C(md_status) fact (null for a host that gave none, shown as unreachable).

        The filter P(mdfleet.md.md_status_by_host#filter) builds it from C(hostvars).""", required=True),
    Option("html_path", Kind.PATH, "Where to write the HTML report."),
    Option("json_path", Kind.PATH, "Where to write the JSON report."),
    Option("title", Kind.STR, "Title of the HTML page.", default="mdfleet fleet status"),
)

# an action plugin (plugins/action/engine_install.py): runs on the controller, the copy is ansible's
ENGINE_INSTALL = (
    Option("dest", Kind.PATH, "Where the zipapp goes on the host (its folder must exist).", required=True),
    Option("python", Kind.PATH, "The host's Python that runs the engine (the shebang of the zipapp).",
           default="/usr/bin/python3"),
    Option("owner", Kind.STR, "Owner of O(dest).", default="root"),
    Option("group", Kind.STR, "Group of O(dest).", default="root"),
)

# Ansible glue of the role (plugins/modules/host_files.py; plugins/action/host_files.py renders the templates)
HOST_DIR_OPTIONS = (
    Option("path", Kind.PATH, "The folder.", required=True),
    Option("mode", Kind.STR, "Its mode, octal (for example V(0755)).", required=True),
)
HOST_FILE_OPTIONS = (
    Option("path", Kind.STR, """
        The file. With O(files[].loop), a Python %-format applied to each item, for example
        V(/etc/x/%(name\\)s.conf).""", required=True),
    Option("mode", Kind.STR, "Its mode, octal (for example V(0644)).", required=True),
    Option("content", Kind.STR, "The content. One of O(files[].content) and O(files[].template)."),
    Option("template", Kind.STR, "A template of the role or playbook (searched like M(ansible.builtin.template)'s "
                                 "C(src))."),
    Option("loop", Kind.LIST, "One file per item, with the item as the variable O(files[].loop_var) of the template.",
           elements=Kind.RAW),
    Option("loop_var", Kind.STR, "The name of the item's variable.", default="item"),
    Option("force", Kind.BOOL, "Replace the content of an existing file; V(false) only creates it (someone else owns "
                               "its content).", default=True),
)
HOST_LINK_OPTIONS = (
    Option("path", Kind.STR, "The link. With O(links[].loop), a Python %-format applied to each item.", required=True),
    Option("src", Kind.STR, "What it points to (as written into the link). With O(links[].loop), a Python %-format "
                            "applied to each item.", required=True),
    Option("loop", Kind.LIST, "One link per item; O(links[].path) and O(links[].src) are %-formats applied to each "
                              "item.", elements=Kind.RAW),
)
HOST_PRUNE_OPTIONS = (
    Option("path", Kind.PATH, "The folder (nothing happens when it does not exist).", required=True),
    Option("pattern", Kind.STR, "A shell pattern of the names, for example V(mdfleet-*.conf).", required=True),
    Option("keep", Kind.LIST, "Further paths to keep.", elements=Kind.PATH, default=()),
)
HOST_FILES = (
    Option("dirs", Kind.LIST, "Folders to create (with their parents) or fix.", elements=Kind.DICT, default=(),
           suboptions=HOST_DIR_OPTIONS),
    Option("files", Kind.LIST, "Files to write when their content differs (or fix their mode and owner).",
           elements=Kind.DICT, default=(), suboptions=HOST_FILE_OPTIONS),
    Option("links", Kind.LIST, "Symbolic links to create or point elsewhere (replaced atomically).",
           elements=Kind.DICT, default=(), suboptions=HOST_LINK_OPTIONS),
    Option("prune", Kind.LIST, "Remove files and links of a folder that match a pattern and are neither in "
                               "O(files)/O(links) nor kept.", elements=Kind.DICT, default=(),
           suboptions=HOST_PRUNE_OPTIONS),
    Option("owner", Kind.STR, "Owner of every folder and file.", default="root"),
    Option("group", Kind.STR, "Group of every folder and file.", default="root"),
)

MODULES = {"acme_md_order": ACME_MD_ORDER, "ocsp_staple": OCSP_STAPLE, "md_status": MD_STATUS,
           "md_fleet_report": MD_FLEET_REPORT, "engine_install": ENGINE_INSTALL, "host_files": HOST_FILES}


def plain(value):
    """A default as Ansible and YAML take it (lists, not tuples)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def spec_of(opt: Option) -> dict:
    """One option as AnsibleModule's argument_spec has it."""
    spec: dict = {"type": opt.ansible_type}
    if opt.ansible_elements:
        spec["elements"] = opt.ansible_elements
    for key in ("required", "no_log"):
        if getattr(opt, key):
            spec[key] = True
    if opt.default is not None:
        spec["default"] = plain(opt.default)
    if opt.choices:
        spec["choices"] = list(opt.choices)
    if opt.aliases:
        spec["aliases"] = list(opt.aliases)
    if opt.suboptions:
        spec["options"] = argument_spec(opt.suboptions)
    for key in ("mutually_exclusive", "required_one_of"):
        if key in opt.extra:
            spec[key] = [list(group) for group in opt.extra[key]]
    return spec


def argument_spec(options: tuple[Option, ...]) -> dict:
    return {opt.name: spec_of(opt) for opt in options}


def module_argument_spec(module: str) -> dict:
    """The argument spec of one of the collection's modules (by its short name)."""
    return argument_spec(MODULES[module])


__all__ = ["MODULES", "ACME_MD_ORDER", "OCSP_STAPLE", "MD_STATUS", "MD_FLEET_REPORT", "ENGINE_INSTALL", "HOST_FILES",
           "argument_spec",
           "module_argument_spec", "spec_of", "plain"]
