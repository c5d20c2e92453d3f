"""Per-host certificates (what existed before fleets) on N local hosts: each host orders its own,
and a second deploy orders nothing (the first-issue step orders only what is missing)."""

from __future__ import annotations

import pytest

from .conftest import ok, recap


@pytest.mark.timeout(1800)
def test_per_host_fleet_deploy_twice(fleet_run, tmp_path):
    run = fleet_run(3)
    host_vars = {}
    for host in run.fleet.hosts:
        name = run.name(host.name)
        run.point([name], host.address)
        host_vars[host.name] = {"managed_domains_domains": [{"domains": [name],
                                                             "site": {"root": "{{ fleet_test_site_root }}"}}]}
    inventory = run.fleet.inventory(tmp_path / "hosts.json", {"managed_domains_defaults": run.defaults()}, host_vars)
    proc = run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0]
    ok(proc)
    assert run.counts()["certificates"] == 3
    for host in run.fleet.hosts:
        assert host.served_serial(run.name(host.name), run.roots)
    proc = run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0]
    ok(proc)
    assert all(stats["changed"] == 0 for stats in recap(proc).values()), recap(proc)
    assert run.counts()["certificates"] == 3
