"""mdfleet.md.host_files through ansible-playbook: templates rendered on the controller (loop items,
ansible_managed), looped links, prune rules, check mode that plans, a second run that changes nothing,
and clear errors for bad entries."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("ansible", reason="ansible-core is only in the venv")


def task(name: str, args: dict, **extra) -> str:
    return "    - %s\n" % json.dumps({"name": name, "mdfleet.md.host_files": args, **extra})


def files_args(root) -> dict:
    return {
        "dirs": [{"path": str(root / "conf"), "mode": "0755"}, {"path": str(root / "enabled"), "mode": "0755"}],
        "files": [{"path": str(root / "conf" / "site-%(name)s.conf"), "template": "site.j2", "mode": "0644",
                   "loop": [{"name": "a", "port": 80}, {"name": "b", "port": 8080}], "loop_var": "__md"},
                  {"path": str(root / "conf" / "plain.txt"), "content": "plain\n", "mode": "0600"}],
        "links": [{"path": str(root / "enabled" / "site-%(name)s.conf"), "src": "../conf/site-%(name)s.conf",
                   "loop": [{"name": "a"}, {"name": "b"}]}],
        "prune": [{"path": str(root / "conf"), "pattern": "site-*.conf"},
                  {"path": str(root / "enabled"), "pattern": "site-*.conf"}],
    }


@pytest.fixture
def templates(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "site.j2").write_text("# {{ ansible_managed }}\nserver {{ __md.name }} {{ __md.port }} {{ greeting }};\n")
    return folder


def test_templates_links_prune_check_mode_and_idempotence(run_playbook, tmp_path, templates):
    root = tmp_path / "host"
    root.mkdir()
    tasks = task("files", files_args(root), vars={"greeting": "hello"})
    proc, res = run_playbook(tasks, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["files"]["changed"] and os.listdir(root) == []

    proc, res = run_playbook(tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["files"]["changed"]
    assert (root / "conf" / "site-b.conf").read_text() == "# Ansible managed\nserver b 8080 hello;\n"
    assert os.readlink(root / "enabled" / "site-a.conf") == "../conf/site-a.conf"
    assert oct(os.stat(root / "conf" / "plain.txt").st_mode & 0o777) == "0o600"

    (root / "conf" / "site-gone.conf").write_text("a site no longer wanted\n")
    os.symlink("../conf/site-gone.conf", root / "enabled" / "site-gone.conf")
    proc, res = run_playbook(tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {c["path"]: c["action"] for c in res["files"]["changes"]} == {
        str(root / "conf" / "site-gone.conf"): "removed", str(root / "enabled" / "site-gone.conf"): "removed"}

    proc, res = run_playbook(tasks)
    assert proc.returncode == 0 and not res["files"]["changed"] and res["files"]["changes"] == []


NEEDS = "/tmp/x needs either content or template"


@pytest.mark.parametrize("entry, message", [
    ({"path": "/tmp/x", "mode": "0644"}, NEEDS),
    ({"path": "/tmp/x", "mode": "0644", "content": "x", "template": "site.j2"}, NEEDS),
    ({"path": "/tmp/%(nope)s", "mode": "0644", "content": "x", "loop": [{"name": "a"}]},
     "path '/tmp/%(nope)s' of a loop item: 'nope'"),
    ({"path": "/tmp/x", "mode": "0644", "template": "missing.j2"}, "missing.j2"),
    ({"path": "/tmp/x", "mode": "rw-r--r--", "content": "x"}, "mode of /tmp/x: 'rw-r--r--' is not octal"),
])
def test_bad_entries_fail_clearly(run_playbook, tmp_path, templates, entry, message):
    proc, res = run_playbook(task("bad", {"files": [entry]}))
    assert proc.returncode != 0
    assert res["bad"].get("failed") and message in res["bad"]["msg"], res["bad"]
