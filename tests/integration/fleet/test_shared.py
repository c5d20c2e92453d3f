"""Issue 9's fleet on local hosts: 3 shared certificates (one issuer) + one per-host certificate each,
one ACME account; pebble's log is the judge of what was ordered, openssl s_client of what is served."""

from __future__ import annotations

import json

import pytest

from peers.fleet import wait_changed, wait_served

from .conftest import SHARED, ok, recap, serials, shared_fleet, unreachable


def changed(proc) -> dict[str, int]:
    return {host: stats["changed"] for host, stats in recap(proc).items()}


def deploy_renew_distribute(run, inventory, count: int, forks: str, again: bool = True) -> None:
    """deploy (3 + N orders, one account), deploy again (nothing), a forced renewal on the issuer (3
    orders), distribute.yml (every member serves the new serials), distribute.yml again (nothing).
    ``again=False`` leaves out the two runs that change nothing (idempotence is per host: the fleet
    of five shows it; at 20 hosts the second deploy alone took 109 s of the test's ~10 minutes)."""
    proc = run.play("deploy.yml", inventory, "-e", "deploy_hosts=web", "-f", forks)[0]
    ok(proc)
    assert run.counts() == {"certificates": 3 + count, "accounts": 1, "invalid_authorizations": 0}
    issued = {md: run.fleet["h1"].served_serial(run.name(md), run.roots) for md in SHARED}
    for md in SHARED:
        assert serials(run, md) == {host.name: issued[md] for host in run.fleet.hosts}

    if again:
        proc = run.play("deploy.yml", inventory, "-e", "deploy_hosts=web", "-f", forks)[0]
        ok(proc)
        assert set(changed(proc).values()) == {0}, changed(proc)
        assert run.counts()["certificates"] == 3 + count

    renewed = run.fleet["h1"].mdfleet("renew", "--force", "--json", *SHARED)
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    assert run.counts()["certificates"] == 3 + count + 3
    h1 = run.fleet["h1"]
    new = {md: wait_changed(h1.address, h1.https_port, run.name(md), run.roots, issued[md]) for md in SHARED}
    proc = run.play("distribute.yml", inventory, "-e", "distribute_hosts=web", "-f", forks)[0]
    ok(proc)
    for host in run.fleet.hosts:
        for md in SHARED:
            wait_served(host.address, host.https_port, run.name(md), run.roots, new[md])
    assert run.counts() == {"certificates": 3 + count + 3, "accounts": 1, "invalid_authorizations": 0}
    assert "PRIVATE KEY" not in proc.stdout
    if again:
        proc = run.play("distribute.yml", inventory, "-e", "distribute_hosts=web", "-f", forks)[0]
        ok(proc)
        assert set(changed(proc).values()) == {0}, changed(proc)


# Several playbook runs over N hosts: longer than the Makefile's 900 s per test on a loaded machine.
@pytest.mark.timeout(2400)
def test_shared_fleet_of_five(fleet_run, tmp_path):
    run = fleet_run(5)
    deploy_renew_distribute(run, shared_fleet(run, tmp_path / "hosts.json"), 5, "5")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_shared_fleet_of_twenty(fleet_run, tmp_path):
    run = fleet_run(20)
    deploy_renew_distribute(run, shared_fleet(run, tmp_path / "hosts.json"), 20, "10", again=False)


@pytest.mark.timeout(2400)
def test_member_and_issuer_unreachable(fleet_run, tmp_path):
    run = fleet_run(3)
    inventory = shared_fleet(run, tmp_path / "hosts.json", point_to="h2")
    ok(run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0])
    renewed = run.fleet["h1"].mdfleet("renew", "--force", "--json", "shop")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    old = run.fleet["h3"].served_serial(run.name("shop"), run.roots)
    h1 = run.fleet["h1"]
    newest = wait_changed(h1.address, h1.https_port, run.name("shop"), run.roots, old)

    # a member unreachable during distribution is reported; the others import; it catches up next run
    down = shared_fleet(run, tmp_path / "h3-down.json", point_to="h2", override={"h3": unreachable()})
    proc, res = run.play("distribute.yml", down, "-e", "distribute_hosts=web")
    assert proc.returncode == 4 and recap(proc)["h3"]["unreachable"] == 1, proc.stdout[-3000:]
    report = res["Report the distribution"]["h1"]["msg"]
    assert report["hosts_without_state"] == ["h3"] and list(report["imported"]) == ["h2"]
    assert report["imported"]["h2"][0]["what"] == "shop" and report["imported"]["h2"][0]["action"] == "imported"
    wait_served(run.fleet["h2"].address, run.fleet["h2"].https_port, run.name("shop"), run.roots, newest)
    assert run.fleet["h3"].served_serial(run.name("shop"), run.roots) == old
    proc = run.play("distribute.yml", inventory, "-e", "distribute_hosts=web")[0]
    ok(proc)
    assert changed(proc)["h3"] > 0 and changed(proc)["h2"] == 0 and changed(proc)["h1"] == 0
    wait_served(run.fleet["h3"].address, run.fleet["h3"].https_port, run.name("shop"), run.roots, newest)

    # the issuer unreachable: members keep serving their sets; the run reports it and fails at its end
    renewed = run.fleet["h1"].mdfleet("renew", "--force", "--json", "shop")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    down = shared_fleet(run, tmp_path / "h1-down.json", point_to="h2", override={"h1": unreachable()})
    proc, res = run.play("distribute.yml", down, "-e", "distribute_hosts=web")
    assert proc.returncode != 0 and "Report the distribution" in res, proc.stdout[-5000:]
    report = res["Report the distribution"]["h2"]["msg"]
    assert report["unreachable_sources"] == ["h1"] and report["imported"] == {}
    waiting = [w for w in report["waiting"] if w["host"] == "h2" and w.get("md") == "shop"]
    assert waiting and "issuer h1 gave no fleet state" in waiting[0]["why"], report["waiting"]
    failed = res["Check that every source answered and every import succeeded"]["h2"]
    assert failed["failed"] and "unreachable issuers/holders (members keep serving their current sets): h1" in \
        failed["msg"]
    for name in ("h2", "h3"):
        assert run.fleet[name].served_serial(run.name("shop"), run.roots) == newest
    assert "PRIVATE KEY" not in proc.stdout + json.dumps(res)

    # account rollover fleet-wide: a new key on the holder, at once on every host; the account stays one
    def accounts() -> dict[str, list]:
        out = {}
        for host in run.fleet.hosts:
            state = host.mdfleet("fleet-state", "--json")
            assert state.returncode == 0, state.stderr
            out[host.name] = sorted((a["account_url"], a["key_thumbprint"])
                                    for a in json.loads(state.stdout)["accounts"].values())
        return out

    before = accounts()
    assert len({tuple(v) for v in before.values()}) == 1, before
    proc = run.play("account_rollover.yml", inventory, "-e", "rollover_holder=h1", "-e", "distribute_hosts=web")[0]
    ok(proc)
    after = accounts()
    assert len({tuple(v) for v in after.values()}) == 1, after
    assert after["h1"][0][0] == before["h1"][0][0] and after["h1"][0][1] != before["h1"][0][1]
    assert run.counts()["accounts"] == 1
