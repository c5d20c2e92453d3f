"""The fleet report (playbooks/fleet_status.yml) on a real fleet: a member behind its issuer is drift,
and an unreachable issuer is shown with what its members keep serving."""

from __future__ import annotations

import json

import pytest

from peers.fleet import wait_changed

from .conftest import ok, shared_fleet, unreachable


def report(run, inventory, out) -> dict:
    proc = run.play("fleet_status.yml", inventory, "-e", "fleet_status_hosts=web", "-e", "fleet_report_dir=%s" % out)[0]
    ok(proc)
    doc = json.loads((out / "fleet-status.json").read_text())
    return {entry["md"]: entry for entry in doc["shared"]}


@pytest.mark.timeout(1800)
def test_report_shows_drift_and_unreachable_issuer(fleet_run, tmp_path):
    run = fleet_run(2)
    inventory = shared_fleet(run, tmp_path / "hosts.json", point_to="h2")
    ok(run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0])
    assert report(run, inventory, tmp_path / "r0")["shop"]["drift"] == []

    old = run.fleet["h2"].served_serial(run.name("shop"), run.roots)
    renewed = run.fleet["h1"].mdfleet("renew", "--force", "--json", "shop")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    h1 = run.fleet["h1"]
    wait_changed(h1.address, h1.https_port, run.name("shop"), run.roots, old)
    shop = report(run, inventory, tmp_path / "r1")["shop"]
    assert shop["issuer"] == "h1" and shop["drift"] == ["h2"], shop

    down = shared_fleet(run, tmp_path / "h1-down.json", point_to="h2", override={"h1": unreachable()})
    shop = report(run, down, tmp_path / "r2")["shop"]
    assert shop["issuer-reachable"] is False, shop
    assert "issuer h1 unreachable: members keep serving serial" in shop["note"], shop
