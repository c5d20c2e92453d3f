"""`ansible-galaxy collection build` gives a tarball that installs and whose modules ansible-doc renders."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("ansible", reason="ansible-core is only in the venv")
REPO = Path(__file__).resolve().parents[3]
MODULES = ["acme_md_order", "ocsp_staple", "md_status", "md_fleet_report", "engine_install"]


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_build_install_and_document(tmp_path):
    build = subprocess.run([tool("ansible-galaxy"), "collection", "build", str(REPO), "--output-path",
                            str(tmp_path)], capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stderr
    tarball = tmp_path / "mdfleet-md-0.1.0.tar.gz"
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "plugins/module_utils/mdcore/manager.py" in names
    assert "roles/managed_domains/tasks/main.yml" in names
    assert "plugins/action/engine_install.py" in names and "plugins/plugin_utils/engine_zipapp.py" in names
    assert not [n for n in names if n.startswith((".venv", "bench", ".git/", "tests/output"))]
    # the developer tool chain is not part of what users install
    dev_files = ("Makefile", "scripts/", "requirements-dev.txt", "pyproject.toml", "pytest.ini", ".ci/")
    assert not [n for n in names if n.startswith(dev_files) or n == "scripts"]
    installed = tmp_path / "installed"
    inst = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p",
                           str(installed)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert inst.returncode == 0, inst.stderr
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))
    for module in MODULES:
        doc = subprocess.run([tool("ansible-doc"), "mdfleet.md." + module], env=env, capture_output=True,
                             text=True, timeout=120, check=False)
        assert doc.returncode == 0 and "EXAMPLES" in doc.stdout, doc.stderr
    role = subprocess.run([tool("ansible-doc"), "-t", "role", "mdfleet.md.managed_domains"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert role.returncode == 0, role.stderr


def test_declared_versions_are_the_tested_ones():
    """meta/runtime.yml claims the ansible-core that CI pins, not older releases nothing tests."""
    import yaml
    from ansible.module_utils.compat.version import LooseVersion

    runtime = yaml.safe_load((REPO / "meta/runtime.yml").read_text())
    pinned = next(line.split("==", 1)[1].strip() for line in (REPO / "requirements-dev.txt").read_text().splitlines()
                  if line.startswith("ansible-core=="))
    lower, upper = (part.strip() for part in runtime["requires_ansible"].split(","))
    assert lower.startswith(">=") and upper.startswith("<")
    assert LooseVersion(lower[2:]) <= LooseVersion(pinned) < LooseVersion(upper[1:])
    assert LooseVersion(lower[2:]).version[:2] == LooseVersion(pinned).version[:2]
