"""mdfleet.md.md_status, md_fleet_report and playbooks/fleet_status.yml through real
ansible-playbook (venv runs only: Debian's python3 has no Ansible; the module itself runs under
/usr/bin/python3 here, as on a Debian 12 host)."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest
from unit.status.conftest import SECRETS, validate
from unit.status.synth import DAY, Spec, make_store

from integration.ansible_run import ansible_playbook
from mdcore.ocsp.state import OcspStatus

pytest.importorskip("ansible", reason="needs Ansible (the venv run)")

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "fleet_status.yml"
HOST_PYTHON = "/usr/bin/python3"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def test_md_status_module(ansible_collections_dir, tmp_path):
    store = make_store(str(tmp_path / "store"), now(), [
        Spec("shop.example.org", key_types=["p256", "rsa2048"]), Spec("old.example.org", age=85 * DAY),
        Spec("broken.example.org", errors=2), Spec("le.example.org", ocsp=OcspStatus.NO_RESPONDER)])
    book = tmp_path / "play.yml"
    tasks = [
        {"name": "status", "mdfleet.md.md_status": {"store": store}, "register": "st"},
        {"name": "fact is set", "ansible.builtin.assert": {"that": [
            "ansible_facts.md_status.summary.error == 1",
            "ansible_facts.md_status['managed-domains'][0].name == 'broken.example.org'"]}},
        {"name": "status in check mode",
         "mdfleet.md.md_status": {"store": store, "names": ["old.example.org"]},
         "check_mode": True},
        {"name": "no store", "mdfleet.md.md_status": {"store": str(tmp_path / "none")}},
        {"name": "bad window", "mdfleet.md.md_status": {"store": store, "warn_window": "soon"},
         "ignore_errors": True},
    ]
    book.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    proc, res = ansible_playbook(ansible_collections_dir, book, "local,", "-c", "local",
                                 "-e", "ansible_python_interpreter=" + HOST_PYTHON)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    full = res["status"]["local"]
    assert full["changed"] is False
    status = full["ansible_facts"]["md_status"]
    validate(status, "md-status")
    assert [md["name"] for md in status["managed-domains"]] == [
        "broken.example.org", "old.example.org", "le.example.org", "shop.example.org"]
    assert status["managed-domains"][1]["health"] == "expiring" and status["store"] == store
    checked = res["status in check mode"]["local"]
    assert checked["changed"] is False
    names = [md["name"] for md in checked["ansible_facts"]["md_status"]["managed-domains"]]
    assert names == ["old.example.org"]
    assert not res["fact is set"]["local"].get("failed")
    empty = res["no store"]["local"]
    assert empty["ansible_facts"]["md_status"]["managed-domains"] == []
    assert "does not exist" in empty["warnings"][0]
    assert res["bad window"]["local"]["failed"] and "warn_window" in res["bad window"]["local"]["msg"]
    for secret in SECRETS:
        assert secret not in proc.stdout


def test_fleet_status_playbook(ansible_collections_dir, tmp_path):
    web1 = make_store(str(tmp_path / "web1"), now(), [Spec("shop.example.org"),
                                                      Spec("old.example.org", age=86 * DAY)])
    web2 = make_store(str(tmp_path / "web2"), now(), [Spec("api.example.org", errors=3),
                                                      Spec("gone.example.org", age=95 * DAY)])
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("\n".join([
        "[web]",
        "web1 ansible_connection=local managed_domains_store=%s ansible_python_interpreter=%s" % (web1, HOST_PYTHON),
        "web2 ansible_connection=local managed_domains_store=%s ansible_python_interpreter=%s" % (web2, HOST_PYTHON),
        "web3 ansible_connection=local ansible_python_interpreter=%s" % (tmp_path / "no-python"),
        "web4 ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_timeout=5",
        "[controller]",
        "localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        "[web:vars]",
        "secret_eab_hmac_key=EABSECRETVALUE",
        "",
    ]))
    out = tmp_path / "report"
    proc, res = ansible_playbook(ansible_collections_dir, PLAYBOOK, str(inventory),
                                 "-e", "fleet_report_dir=%s" % out,
                                 "-e", "fleet_status_become=false", "-e", "fleet_status_hosts=web")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    report = json.loads((out / "fleet-status.json").read_text())
    validate(report, "fleet-report")
    rows = [(r["host"], r["md"], r["health"]) for r in report["rows"]]
    assert rows[:3] == [("web2", "gone.example.org", "expired"), ("web2", "api.example.org", "error"),
                        ("web3", "-", "unreachable")]
    assert rows[3:] == [("web4", "-", "unreachable"), ("web1", "old.example.org", "expiring"),
                        ("web1", "shop.example.org", "ok")]
    written = res["Render the fleet report (HTML and JSON)"]["localhost"]
    assert written["changed"] and written["unreachable_hosts"] == ["web3", "web4"]
    assert written["urgent"][:2] == ["web2/gone.example.org", "web2/api.example.org"]
    html = (out / "fleet-status.html").read_text()
    assert "gone.example.org" in html and "EABSECRETVALUE" not in html + json.dumps(report) + proc.stdout
    try:
        from .browser import Chromium
        from .pngread import read_png
    except ImportError:  # pragma: no cover
        return
    if not Chromium.available():
        return
    shot = Chromium(tmp_path / "profile").screenshot(out / "fleet-status.html", "fleet-report-playbook.png",
                                                     1400, 900)
    assert read_png(str(shot)).width == 1400


def _status_without_time(result: dict) -> dict:
    status = dict(result["ansible_facts"]["md_status"])
    for key in ("generated", "generated-unix"):
        status.pop(key)
    return status


def test_md_status_from_the_bytecode_cache(ansible_collections_dir, tmp_path):
    """Through AnsiballZ under the host's python3: the first run fills the cache (0600 entries in a 0700
    folder), the next ones (normal and check mode, then with every entry damaged) answer the same."""
    store = make_store(str(tmp_path / "store"), now(), [Spec("shop.example.org"), Spec("broken.example.org", errors=2)])
    cache = tmp_path / "bytecode"
    book = tmp_path / "play.yml"
    tasks = [{"name": "status", "mdfleet.md.md_status": {"store": store}},
             {"name": "checked", "mdfleet.md.md_status": {"store": store}, "check_mode": True}]
    book.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))

    def run() -> dict:
        proc, res = ansible_playbook(ansible_collections_dir, book, "local,", "-c", "local", "-e",
                                     "ansible_python_interpreter=" + HOST_PYTHON,
                                     extra_env={"MDFLEET_BYTECODE_CACHE": str(cache)})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return {name: _status_without_time(res[name]["local"]) for name in ("status", "checked")}

    first = run()
    entries = sorted(cache.iterdir())
    assert len(entries) > 20  # the engine's modules of md_status, not its packages' __init__
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert {oct(e.stat().st_mode & 0o777) for e in entries} == {"0o600"}
    assert run() == first and first["status"] == first["checked"]
    assert sorted(cache.iterdir()) == entries  # hits: nothing new
    for entry in entries:
        entry.write_bytes(b"garbage")
    assert run() == first
    assert all(len(e.read_bytes()) > 100 for e in entries)  # compiled again and replaced
