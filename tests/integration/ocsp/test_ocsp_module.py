"""mdfleet.md.ocsp_staple through real ansible-playbook (the collection linked into a tmp
ansible_collections tree), against a real `openssl ocsp` in the test's network namespace:
check mode, changed only when a staple changed, other certificates, bad input, Debian's python."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from integration.ansible_run import on_localhost
from mdcore.clock import Clock
from mdcore.store import Store
from peers.ocsp_pki import install_md

from .util import cert_status, read

DEBIAN_PY = "/usr/bin/python3"


@pytest.fixture
def playbook(ansible_collections_dir, tmp_path):
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    if not ansible_playbook.exists():
        pytest.skip("ansible-playbook is not installed beside %s (the venv has it)" % sys.executable)

    def run(tasks: list[dict], python: str = sys.executable, check: bool = False):
        book = tmp_path / "play.yml"
        book.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        return on_localhost(ansible_collections_dir, book, python, *(["--check"] if check else []))

    return run


def task(name: str, check: bool = False, **args) -> dict:
    entry = {"name": name, "mdfleet.md.ocsp_staple": args}
    if check:
        entry["check_mode"] = True
    return entry


@pytest.mark.parametrize("python", [sys.executable, DEBIAN_PY])
def test_module_plan_fetch_idempotent(playbook, pki, responder, web, tmp_path, python):
    if not os.path.exists(python):
        pytest.skip("%s missing" % python)
    leaf = pki.issue("module.test", responder.url)
    other = pki.issue("other.test", responder.url)
    plain = pki.issue("plain.test", None)
    responder.start()
    store = Store(str(tmp_path / "store"), Clock()).setup()
    install_md(store, leaf.name, leaf)
    install_md(store, plain.name, plain)
    staple = str(web / "module.der")
    args = dict(store=store.root, domain_options={leaf.name: {"staple_file": staple}},
                certificates=[{"cert": other.cert_path, "issuer": other.chain_path,
                               "staple_file": str(web / "other.der")}], timeout=5)
    proc, res = playbook([task("plan", check=True, **args), task("staple", **args), task("again", **args)],
                         python=python)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    plan = {s["name"]: s for s in res["plan"]["staples"]}
    assert res["plan"]["changed"] and plan["module.test/p256"]["action"] == "would-fetch"
    assert plan["plain.test/p256"]["status"] == "no-responder"

    assert res["staple"]["changed"] and res["staple"]["errors"] == 0
    done = {s["name"]: s for s in res["staple"]["staples"]}
    mod = done["module.test/p256"]
    assert (mod["action"], mod["status"], mod["responder"]) == ("fetched", "good", responder.url)
    assert mod["next_update"].endswith("Z") and mod["refresh_at"] and mod["files"] == [staple]
    assert done[other.cert_path]["status"] == "good" and done["plain.test/p256"]["last_error"] is None
    assert cert_status(read(staple)) == "good" and cert_status(read(web / "other.der")) == "good"

    assert res["again"]["changed"] is False
    assert {s["action"] for s in res["again"]["staples"]} == {"kept", "skipped"}
    assert "BEGIN" not in proc.stdout  # no certificate or key material in the output


def test_module_bad_input_fails_cleanly(playbook, netns, tmp_path):
    proc, res = playbook([task("bad", store=str(tmp_path / "store"), window="soon")])
    assert proc.returncode != 0
    assert res["bad"]["failed"] and "window: 'soon' is neither a percentage" in res["bad"]["msg"]  # names the parameter
    assert "Traceback" not in res["bad"]["msg"]
    proc, res = playbook([task("bad cert", store=str(tmp_path / "store"), managed=False,
                               certificates=[{"cert": str(tmp_path / "missing.pem")}])])
    assert proc.returncode == 0  # one certificate failing does not fail the task ...
    [entry] = res["bad cert"]["staples"]
    # ... it is reported
    assert res["bad cert"]["errors"] == 1 and "cannot read certificate" in entry["error"]


def test_module_warns_about_names_it_does_not_manage(playbook, pki, netns, tmp_path):
    """A typo in domains or domain_options used to staple nothing without a word."""
    leaf = pki.issue("typo.test", None)
    store = Store(str(tmp_path / "store"), Clock()).setup()
    install_md(store, leaf.name, leaf)
    proc, res = playbook([task("typos", store=store.root, domains=["typo.test", "tpyo.test"],
                               domain_options={"tpyo.test": {"staple_file": str(tmp_path / "x.der")},
                                               "typo.test": {"rsa2048": {"staple_file": str(tmp_path / "y.der")}}})])
    assert proc.returncode == 0, proc.stdout[-3000:]
    warnings = res["typos"]["warnings"]
    assert any("domains: no managed domain 'tpyo.test'" in w for w in warnings), warnings
    assert any("domain_options: no managed domain 'tpyo.test'" in w for w in warnings), warnings
    assert any("typo.test has no certificate of key type 'rsa2048' (it has p256)" in w for w in warnings), warnings
    assert len(warnings) == 3


def test_module_warns_when_it_set_aside_a_corrupt_staple_book(playbook, pki, responder, tmp_path):
    """A staple book that does not read is set aside and rebuilt, and the task says so, naming the
    file (it used to be a repair only mdfleet's own report mentioned)."""
    leaf = pki.issue("book.test", responder.url)
    responder.start()
    store = Store(str(tmp_path / "store"), Clock()).setup()
    install_md(store, leaf.name, leaf)
    proc, res = playbook([task("first", store=store.root, timeout=5)])
    assert proc.returncode == 0 and res["first"]["errors"] == 0, proc.stdout[-3000:]
    book = Path(store.root, "ocsp", "staples.json")
    assert book.exists() and not res["first"].get("warnings")
    book.write_text("{not json")
    proc, res = playbook([task("again", store=store.root, timeout=5)])
    assert proc.returncode == 0 and res["again"]["errors"] == 0, proc.stdout[-3000:]
    warnings = res["again"].get("warnings", [])
    assert any(str(book) in w and "set aside" in w for w in warnings), warnings
    assert list(book.parent.glob("staples.json.corrupt-*")) and json.loads(book.read_text())
    assert "Traceback" not in proc.stdout + proc.stderr
