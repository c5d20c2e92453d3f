"""What a run that talks to nobody imports (issue 13): no HTTP library but the engine's own, no
JOSE library, no dnspython (dns.query pulls in requests and urllib3), no challenge listener
(http.server); and an idle run over a store with active sets and staples none of the order
machinery, the engine's HTTP client, TLS or cryptography. Each command runs in a fresh
interpreter, the one running the tests (venv, or Debian's python3 under make pytest-debian)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

UTILS = str(Path(__file__).resolve().parents[2] / "plugins" / "module_utils")
# Run the command as `python -m mdcore` would, then list what got imported.
# The command ends with os._exit (mdcore.__main__.end): here it raises SystemExit instead, so the
# probe sees the end and lists the modules.
PROBE = """
import json, os, runpy, sys
def _exit(code):
    raise SystemExit(code)
os._exit = _exit
sys.argv = ["mdfleet"] + sys.argv[1:]
try:
    runpy.run_module("mdcore", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
UNWANTED = ("requests", "urllib3", "josepy", "OpenSSL", "chardet", "charset_normalizer", "dns", "urllib.request",
            "http.server", "socketserver")  # the challenge listeners: imported when an order needs one


# What only an order, an ARI poll or a staple fetch needs.
NOT_IDLE = ("cryptography", "ssl", "concurrent.futures", "mdcore.issuance", "mdcore.acme.transport",
            "mdcore.acme.account", "mdcore.acme.order", "mdcore.acme.jws", "mdcore.net", "mdcore.keys", "mdcore.certs",
            "mdcore.ocsp.fetch", "mdcore.ocsp.request", "mdcore.ocsp.verify", "mdcore.challenges.http01",
            "mdcore.fleet.share", "mdcore.persist_records", "idna",
            # nor the DNS side, the glue's commands or what only commands, activation and haproxy need
            "mdcore.dnsquery", "mdcore.dnsclient", "mdcore.challenges.dnspersist01", "mdcore.webglue.commands",
            "socket", "subprocess", "secrets", "html")


def _imported(tmp_path: Path, doc: dict, *args: str, unwanted: tuple[str, ...] = UNWANTED) -> set[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, check=False, env=dict(os.environ, PYTHONPATH=UTILS))
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["exit"] == 0, proc.stderr
    return {name for name in result["modules"]
            if any(name == bad or name.startswith(bad + ".") for bad in unwanted)}


DNS01 = {"name": "two", "domains": ["two.example"], "challenge": "dns-01", "dns_command": ["/bin/true"]}


@pytest.mark.parametrize("args, domains", [
    (("check-config",), [{"name": "one", "domains": ["one.example"]}, DNS01]),
    (("drive",), []),
    (("status", "--json"), []),
])
def test_a_run_that_talks_to_nobody_imports_no_http_or_jose_library(tmp_path, args, domains):
    doc = {"store": str(tmp_path / "store"), "domains": domains,
           "defaults": {"acme_directory": "https://ca.invalid/dir", "agree_tos": True}}
    assert _imported(tmp_path, doc, *args) == set()


@pytest.mark.parametrize("args", [("drive",), ("status", "--json"), ("status", "--prometheus")])
def test_an_idle_run_over_active_sets_imports_nothing_of_the_order_or_fetch_side(tmp_path, args):
    from mdcore.clock import Clock

    from .status.synth import Spec, make_store

    specs = [Spec("idle%d.example.org" % i, key_types=["p256", "rsa2048"] if i % 2 else ["p256"]) for i in range(3)]
    make_store(str(tmp_path / "store"), Clock().now(), specs)
    doc = {"store": str(tmp_path / "store"), "stapling": {"enabled": True},
           "defaults": {"acme_directory": "https://ca.test/dir", "agree_tos": True, "ari": False,
                        "contact": ["mailto:ops@example.org"]},
           "domains": [{"name": s.name, "domains": [s.name, "www." + s.name], "key_types": s.key_types}
                       for s in specs]}
    assert _imported(tmp_path, doc, *args, unwanted=UNWANTED + NOT_IDLE) == set()


# An Ansible module run in this interpreter, as the AnsiballZ wrapper runs it (its arguments set where
# basic._load_params finds them), then what it imported of the engine and of the libraries.
MODULE_PROBE = """
import json, runpy, sys
from ansible.module_utils import basic
basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": json.loads(sys.argv[2])}).encode()
basic._ANSIBLE_PROFILE = "legacy"
try:
    runpy.run_module("ansible_collections.mdfleet.md.plugins.modules." + sys.argv[1], run_name="__main__",
                     alter_sys=True)
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
# What AnsibleModule imports itself (socket, subprocess, ...): not the module's to avoid
BASIC_PROBE = "import json, sys; import ansible.module_utils.basic; print(json.dumps(sorted(sys.modules)))"
ENGINE = "ansible_collections.mdfleet.md.plugins.module_utils."
# Beyond NOT_IDLE: the config parser (md_status without a config file), the ACME client's modules.
NOT_FOR_IDLE_MODULES = ("mdcore.hostconfig", "mdcore.persist_records", "mdcore.acme.account_gate",
                        "mdcore.challenges.dnspersist01", "mdcore.status.writer", "mdcore.status.html_view",
                        "mdcore.status.prom_view", "mdcore.notify.command", "mdcore.ocsp.refresh", "mdcore.cli")
# md_status takes the compact copies of the option table (options/md_status_spec.py, status_config_spec.py)
# and the store's read side (storeread.py)
NOT_FOR_STATUS = ("mdcore.options.modules", "mdcore.options.domain", "mdcore.options.host", "mdcore.options.stapling",
                  "mdcore.options.role", "mdcore.store", "mdcore.state.installs")


def _module_imported(tmp_path: Path, module: str, args: dict, extra: tuple[str, ...] = ()) -> tuple[dict, set[str]]:
    pytest.importorskip("ansible.module_utils.basic")
    (tmp_path / "collections" / "ansible_collections" / "mdfleet").mkdir(parents=True)
    (tmp_path / "collections" / "ansible_collections" / "mdfleet" / "md").symlink_to(Path(UTILS).parents[1])
    proc = subprocess.run([sys.executable, "-c", MODULE_PROBE, module, json.dumps(args)], capture_output=True,
                          text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=str(tmp_path / "collections")))
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["exit"] == 0, proc.stdout + proc.stderr
    basic = set(json.loads(subprocess.run([sys.executable, "-c", BASIC_PROBE], capture_output=True, text=True,
                                          timeout=60, check=True).stdout))
    # deps.py's version check imports cryptography's top package only
    libraries = tuple(n for n in NOT_IDLE if not n.startswith("mdcore.") and n != "cryptography")
    unwanted = UNWANTED + libraries + ("cryptography.hazmat", "cryptography.x509") + tuple(
        ENGINE + n for n in NOT_IDLE + NOT_FOR_IDLE_MODULES + extra if n.startswith("mdcore."))
    bad = {name for name in set(result["modules"]) - basic
           if any(name == b or name.startswith(b + ".") for b in unwanted)}
    return json.loads(proc.stdout), bad


def _idle_store(tmp_path: Path) -> str:
    from mdcore.clock import Clock

    from .status.synth import Spec, make_store

    return make_store(str(tmp_path / "store"), Clock().now(), [Spec("idle.example.org")])


def test_md_status_over_a_store_imports_neither_the_config_parser_nor_the_order_or_fetch_side(tmp_path):
    out, bad = _module_imported(tmp_path, "md_status", {"store": _idle_store(tmp_path)}, NOT_FOR_STATUS)
    assert [d["name"] for d in out["ansible_facts"]["md_status"]["managed-domains"]] == ["idle.example.org"]
    assert bad == set()


def test_acme_md_order_with_nothing_due_imports_no_acme_client_http_or_cryptography(tmp_path):
    args = {"name": "idle.example.org", "domains": ["idle.example.org", "www.idle.example.org"],
            "store": _idle_store(tmp_path), "acme_directory": "https://ca.test/dir", "agree_tos": True,
            "contact": ["mailto:ops@example.org"], "ari": False, "key_types": ["p256"]}
    out, bad = _module_imported(tmp_path, "acme_md_order", args)
    assert (out["plan"], out["valid"], out["changed"]) == ("none", True, False)
    assert bad == set()


def test_md_status_with_a_config_file_reads_its_settings_without_the_config_parser(tmp_path):
    store = _idle_store(tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store": store, "status": {"key_names": "mod_md"},
                                  "domains": [{"name": "idle.example.org", "domains": ["idle.example.org"]}]}))
    out, bad = _module_imported(tmp_path, "md_status", {"config": str(config)}, NOT_FOR_STATUS)
    facts = out["ansible_facts"]["md_status"]
    assert (facts["store"], facts["key-names"]) == (store, "mod_md")
    assert bad == set()
