"""The engine as one zipapp: deterministic builds, bytecode that Debian's python3 uses (and a
fallback to the sources when the bytecode version differs), clear build errors, and the
engine_install action through ansible-playbook (copied once, unchanged the second time, check mode)."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ENGINE = str(REPO / "plugins" / "module_utils" / "mdcore")
HOST_PY = "/usr/bin/python3"


def builder():
    """plugins/plugin_utils/engine_zipapp.py (standard library only), loaded by path."""
    spec = importlib.util.spec_from_file_location("engine_zipapp", REPO / "plugins/plugin_utils/engine_zipapp.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def build_in_child(source: str, location: str) -> str:
    """The sha256 of a build made by a fresh process (no state shared with this one)."""
    code = ("import importlib.util,sys; s=importlib.util.spec_from_file_location('b',sys.argv[1]); "
            "m=importlib.util.module_from_spec(s); sys.modules['b']=m; s.loader.exec_module(m); "
            "print(m.build(sys.argv[2], '/usr/bin/python3', sys.argv[3]).sha256)")
    return subprocess.run([sys.executable, "-c", code, str(REPO / "plugins/plugin_utils/engine_zipapp.py"), source,
                           location], capture_output=True, text=True, check=True, timeout=120).stdout.strip()


def install(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "mdfleet.pyz"
    path.write_bytes(data)
    path.chmod(0o755)
    return path


def host_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"store": str(tmp_path / "store"), "domains": [
        {"domains": ["a.example"], "acme_directory": "https://acme.example/directory"}]}))
    return config


def test_the_same_sources_give_the_same_bytes():
    z = builder()
    first = z.build(ENGINE, HOST_PY, "/usr/lib/mdfleet/mdfleet.pyz")
    assert build_in_child(ENGINE, "/usr/lib/mdfleet/mdfleet.pyz") == first.sha256
    other = z.build(ENGINE, "/opt/python3", "/usr/lib/mdfleet/mdfleet.pyz")
    assert other.sha256 != first.sha256 and other.sources_sha256 == first.sources_sha256
    assert first.data.startswith(b"#!/usr/bin/python3 -I\n") and first.version == "0.1.0"


def test_a_changed_source_changes_the_checksums(tmp_path):
    copy = tmp_path / "mdcore"
    shutil.copytree(ENGINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    z = builder()
    before = z.build(str(copy), HOST_PY, "/x.pyz")
    (copy / "clock.py").write_text((copy / "clock.py").read_text() + "\n# changed\n")
    after = z.build(str(copy), HOST_PY, "/x.pyz")
    assert after.sources_sha256 != before.sources_sha256 and after.sha256 != before.sha256


def test_every_engine_file_with_its_bytecode_fixed_times_and_modes():
    z = builder()
    found = z.build(ENGINE, HOST_PY, "/x.pyz")
    with zipfile.ZipFile(io.BytesIO(found.data)) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    sources = sorted(str(p.relative_to(ENGINE)) for p in Path(ENGINE).rglob("*.py") if "__pycache__" not in p.parts)
    assert [n[len("mdcore/"):] for n in names if n.endswith(".py") and n.startswith("mdcore/")] == \
        sources + ["_build.py"]
    assert all(n + "c" in names for n in names if n.endswith(".py")) and found.files == len(sources)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644} and {i.compress_type for i in infos} == {0}


def test_debian_python_runs_it_from_its_bytecode(tmp_path):
    z = builder()
    found = z.build(ENGINE, HOST_PY, str(tmp_path / "mdfleet.pyz"))
    app = install(tmp_path, found.data)
    config = host_config(tmp_path)
    run = subprocess.run([str(app), "--config", str(config), "check-config"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0 and "OK, 1 managed domain(s)" in run.stdout, run.stderr
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import mdcore.cli, mdcore._build; "
             "print(mdcore.cli.__file__); print(mdcore._build.BUILD['sources_sha256'])")
    out = subprocess.run([HOST_PY, "-I", "-B", "-c", probe, str(app)], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == [str(app) + "/mdcore/cli.pyc", found.sources_sha256]  # the bytecode, not the source


def other_magic(data: bytes) -> bytes:
    """The same zipapp as if another Python had compiled it (another bytecode magic number)."""
    out = io.BytesIO()
    out.write(data[:data.index(b"\n") + 1])
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            content = old.read(info)
            new.writestr(info, b"\x00\x00\r\n" + content[4:] if info.filename.endswith(".pyc") else content)
    return out.getvalue()


def test_bytecode_of_another_python_falls_back_to_the_sources(tmp_path):
    z = builder()
    app = install(tmp_path, other_magic(z.build(ENGINE, HOST_PY, str(tmp_path / "mdfleet.pyz")).data))
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import mdcore.cli; print(mdcore.cli.__file__)"
    out = subprocess.run([HOST_PY, "-I", "-B", "-c", probe, str(app)], capture_output=True, text=True, timeout=60,
                         check=True).stdout.strip()
    assert out == str(app) + "/mdcore/cli.py"
    run = subprocess.run([str(app), "--config", str(host_config(tmp_path)), "check-config"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("damage, message", [
    ("syntax", r"clock.py does not compile"),
    ("no-init", r"is not the engine's package: it has no __init__.py"),
    ("no-version", r'__init__.py does not say VERSION = "..."'),
])
def test_sources_that_cannot_be_built_say_which_file(tmp_path, damage, message):
    copy = tmp_path / "mdcore"
    shutil.copytree(ENGINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if damage == "syntax":
        (copy / "clock.py").write_text("def broken(:\n")
    elif damage == "no-init":
        (copy / "__init__.py").unlink()
    else:
        (copy / "__init__.py").write_text('"""no version here"""\n')
    z = builder()
    with pytest.raises(z.BuildError, match=message):
        z.build(str(copy), HOST_PY, "/x.pyz")


def test_engine_install_copies_once_and_checks(run_playbook, tmp_path, monkeypatch):
    pytest.importorskip("ansible", reason="ansible-core is only in the venv")
    local_tmp = tmp_path / "ansible-local"
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(local_tmp))
    dest = tmp_path / "lib" / "mdfleet.pyz"
    dest.parent.mkdir()
    owner = "{{ lookup('pipe', 'id -un') }}"
    tasks = ("    - name: install\n      mdfleet.md.engine_install:\n        dest: %s\n        python: %s\n"
             "        owner: \"%s\"\n        group: \"{{ lookup('pipe', 'id -gn') }}\"\n" % (dest, HOST_PY, owner))
    proc, res = run_playbook(tasks, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["install"]["changed"] and not dest.exists()  # check mode plans, copies nothing
    proc, res = run_playbook(tasks)
    first = res["install"]
    assert proc.returncode == 0 and first["changed"], proc.stdout[-3000:]
    assert first["version"] == "0.1.0" and first["bytecode"] == sys.implementation.cache_tag
    assert __import__("hashlib").sha256(dest.read_bytes()).hexdigest() == first["sha256"]
    assert oct(dest.stat().st_mode & 0o777) == "0o755" and first["size"] == dest.stat().st_size
    proc, res = run_playbook(tasks)
    assert proc.returncode == 0 and not res["install"]["changed"] and res["install"]["sha256"] == first["sha256"]
    dest.write_bytes(b"#!/bin/sh\n")  # a damaged engine is put right
    proc, res = run_playbook(tasks)
    assert res["install"]["changed"] and dest.stat().st_size == first["size"]
    assert local_tmp.is_dir() and list(local_tmp.iterdir()) == []  # the controller's build went with the run


def test_engine_install_refuses_bad_arguments(run_playbook):
    pytest.importorskip("ansible", reason="ansible-core is only in the venv")
    proc, res = run_playbook("    - name: install\n      mdfleet.md.engine_install:\n        destination: /x\n")
    assert proc.returncode != 0
    assert "dest" in res["install"]["msg"] and res["install"]["failed"]
    # the option table's rules beyond Ansible's types: a relative path would land in the remote user's home
    tasks = ("    - name: %s\n      mdfleet.md.engine_install:\n        dest: %s\n        python: %s\n"
             "      ignore_errors: true\n")
    proc, res = run_playbook(tasks % ("dest", "lib/mdfleet.pyz", HOST_PY) + tasks % ("python", "/x.pyz", "python3"))
    assert res["dest"]["failed"] and res["dest"]["msg"] == "dest: must be an absolute path, not 'lib/mdfleet.pyz'"
    assert res["python"]["failed"] and res["python"]["msg"] == "python: must be an absolute path, not 'python3'"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_one_build_per_run_for_every_host(collections_path, tmp_path, monkeypatch):
    """The action finds the build of an earlier host (fork) of the run by its inputs."""
    pytest.importorskip("ansible", reason="ansible-core is only in the venv")
    monkeypatch.syspath_prepend(str(collections_path))
    from ansible import constants
    from ansible_collections.mdfleet.md.plugins.action import engine_install
    from ansible_collections.mdfleet.md.plugins.plugin_utils import engine_zipapp

    monkeypatch.setattr(constants, "DEFAULT_LOCAL_TMP", str(tmp_path))
    builds = []

    def counting(*args, **kwargs):
        builds.append(args)
        return engine_zipapp.build(*args, **kwargs)

    monkeypatch.setattr(engine_install, "build", counting)
    first = engine_install.cached_build(HOST_PY, "/usr/lib/mdfleet/mdfleet.pyz")
    assert engine_install.cached_build(HOST_PY, "/usr/lib/mdfleet/mdfleet.pyz") == first and len(builds) == 1
    path, info = first
    assert __import__("hashlib").sha256(Path(path).read_bytes()).hexdigest() == info["sha256"]
    other = engine_install.cached_build("/opt/python3", "/usr/lib/mdfleet/mdfleet.pyz")  # other bytes: built
    assert len(builds) == 2 and other[1]["sha256"] != info["sha256"]
    assert other[1]["sources_sha256"] == info["sources_sha256"]
