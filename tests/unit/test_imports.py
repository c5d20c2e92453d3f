"""What a run that talks to nobody imports (issue 13): no HTTP library but the engine's own, no
JOSE library, no dnspython (dns.query pulls in requests and urllib3), no challenge listener
(http.server). Each command runs in a fresh interpreter, the one running the tests (venv, or
Debian's python3 under make pytest-debian)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

UTILS = str(Path(__file__).resolve().parents[2] / "plugins" / "module_utils")
# Run the command as `python -m mdcore` would, then list what got imported.
PROBE = """
import json, runpy, sys
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


def _imported(tmp_path: Path, doc: dict, *args: str) -> set[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config), *args], capture_output=True,
                          text=True, timeout=120, check=False, env=dict(os.environ, PYTHONPATH=UTILS))
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["exit"] == 0, proc.stderr
    return {name for name in result["modules"] if name in UNWANTED or name.split(".")[0] in UNWANTED}


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
