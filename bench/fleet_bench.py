"""Fleet benchmark: one deploy of N hosts that share 3 certificates, against the same fleet in
per-host mode, in the same run, against one local pebble. Not a test: it prints figures and
asserts nothing about time.

Both fleets are tests/peers/fleet.py hosts (ansible_connection=local, each with its own store,
config, engine folder and nginx on its own 127.0.0.N, one port pair for all), deployed with
playbooks/deploy.yml (`-f FORKS`, pipelining on):

* shared: the 3 shared managed domains are declared once (group_vars) with `issuer: h1`; their
  names resolve to another member, which forwards the http-01 challenges to the issuer; every host
  has one per-host domain; one ACME account (`managed_domains_account_holder: h1`);
* per host: the same inventory without `issuer`/holder: every host orders its own copy of the 3
  certificates (their names are made host-unique, e.g. shop.h7..., so that each host's http-01
  validation reaches that host: with the real shared names only a balancer that happens to route
  each validation to its orderer, or dns-01, would let N hosts order them at all) and registers
  its own account.

Figures per mode: orders issued and accounts registered (from pebble's log: what the CA did),
wall seconds of the first deploy and seconds per host, then the second deploy (nothing to do) and,
for the shared fleet, a forced renewal of the 3 on the issuer followed by playbooks/distribute.yml.

Run: /work/venv/bin/python bench/fleet_bench.py --hosts 20 --forks 10 [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from integration.ansible_run import ansible_playbook  # noqa: E402

from peers.challtestsrv import ChallTestSrv  # noqa: E402
from peers.fleet import Fleet, free_port_on, pebble_counts  # noqa: E402
from peers.pebble import Pebble  # noqa: E402

SHARED = ("shop", "api", "static")
DOMAIN = "bench.fleet.test"


def inventory(fleet: Fleet, pebble: Pebble, cts: ChallTestSrv, path: Path, shared: bool) -> Path:
    host_vars = {}
    if shared:  # one A record per shared name (challtestsrv adds one per call: 20 overflow pebble's resolver)
        for label in SHARED:
            cts.add_a("%s.%s.%s" % (label, fleet.prefix, DOMAIN), fleet.hosts[1 % len(fleet.hosts)].address)
    for host in fleet.hosts:
        own = "%s.%s.%s" % (host.name, fleet.prefix, DOMAIN)
        cts.add_a(own, host.address)
        mds = [{"domains": [own], "site": {"root": "{{ fleet_test_site_root }}"}}]
        for label in SHARED:
            if shared:  # one set for the fleet: names at h2, which forwards the challenges to h1
                names = ["%s.%s.%s" % (label, fleet.prefix, DOMAIN)]
                mds.append({"name": label, "domains": names, "issuer": fleet.hosts[0].name,
                            "site": {"root": "{{ fleet_test_site_root }}"}})
            else:  # every host its own copy (host-unique names, see the module docstring)
                names = ["%s.%s.%s.%s" % (label, host.name, fleet.prefix, DOMAIN)]
                cts.add_a(names[0], host.address)
                mds.append({"name": label, "domains": names, "site": {"root": "{{ fleet_test_site_root }}"}})
        host_vars[host.name] = {"managed_domains_domains": mds}
    group_vars: dict = {"managed_domains_defaults": {"acme_directory": pebble.directory_url,
                                                     "ca_bundle": pebble.ca_bundle, "agree_tos": True}}
    if shared:
        group_vars["managed_domains_account_holder"] = fleet.hosts[0].name
    return fleet.inventory(path, group_vars, host_vars)


def failures(stdout: str) -> str:
    """The failed tasks of a run printed by the ansible.posix.json callback: host, task, message."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return stdout[-3000:]
    lines = []
    for play_doc in doc.get("plays", []):
        for task in play_doc.get("tasks", []):
            for host, res in task.get("hosts", {}).items():
                if res.get("failed") or res.get("unreachable"):
                    lines.append("%s: %s: %s" % (host, task["task"]["name"], str(res.get("msg"))[:500]))
                    for stream in ("stderr", "stdout"):  # a command's own words say why it failed
                        if res.get(stream):
                            lines.append("  %s: %s" % (stream, str(res[stream])[-1500:]))
    return "\n".join(lines[:20]) + "\n"


def slowest_tasks(stdout: str, count: int = 6) -> list[tuple[str, float]]:
    """(task, wall seconds from its first host's start to its last host's end), slowest first."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return []
    walls = []
    for play_doc in doc.get("plays", []):
        for task in play_doc.get("tasks", []):
            span = task["task"].get("duration") or {}
            if span.get("start") and span.get("end"):
                start, end = (datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("start", "end"))
                walls.append((task["task"]["name"].split(" : ", 1)[-1], (end - start).total_seconds()))
    return sorted(walls, key=lambda item: -item[1])[:count]


def play(collections: Path, book: str, inv: Path, forks: int, hosts_var: str) -> tuple[float, int, str]:
    start = time.monotonic()
    extra = ["-f", str(forks), "-e", "%s=web" % hosts_var, "-e", "deploy_become=false",
             "-e", "distribute_become=false"]
    proc, _results = ansible_playbook(collections, ROOT / "playbooks" / book, str(inv), *extra, timeout=3600,
                                      extra_env={"ANSIBLE_PIPELINING": "1"})
    if proc.returncode != 0:  # the whole output, for the failure the tail does not show
        return time.monotonic() - start, proc.returncode, failures(proc.stdout) + proc.stderr[-2000:]
    return time.monotonic() - start, proc.returncode, proc.stdout


def delta(before: dict, after: dict) -> dict:
    return {"orders": after["certificates"] - before["certificates"],
            "accounts": after["accounts"] - before["accounts"],
            "invalid_authorizations": after["invalid_authorizations"] - before["invalid_authorizations"]}


def run_mode(name: str, shared: bool, args, work: Path, collections: Path, pebble: Pebble, cts: ChallTestSrv,
             first: int, ports: tuple[int, int]) -> dict:
    fleet = Fleet(work / name, args.hosts, first_address=first, prefix=name, ports=ports).start()
    try:
        inv = inventory(fleet, pebble, cts, work / ("%s.json" % name), shared)
        result: dict = {"mode": name, "hosts": args.hosts, "forks": args.forks}
        before = pebble_counts(pebble.log_path)
        wall, rc, tail = play(collections, "deploy.yml", inv, args.forks, "deploy_hosts")
        if rc != 0:
            raise SystemExit("%s: deploy failed (rc %d):\n%s" % (name, rc, tail))
        result.update(delta(before, pebble_counts(pebble.log_path)), deploy_s=round(wall, 1),
                      deploy_s_per_host=round(wall / args.hosts, 2), deploy_slowest=slowest_tasks(tail))
        before = pebble_counts(pebble.log_path)
        wall, rc, tail = play(collections, "deploy.yml", inv, args.forks, "deploy_hosts")
        if rc != 0:
            raise SystemExit("%s: second deploy failed (rc %d):\n%s" % (name, rc, tail))
        orders = delta(before, pebble_counts(pebble.log_path))["orders"]
        result.update(redeploy_s=round(wall, 1), redeploy_orders=orders)
        if shared:
            issuer = fleet.hosts[0]
            renew = issuer.mdfleet("renew", "--force", "--json", *SHARED, timeout=600)
            if renew.returncode != 0:
                raise SystemExit("forced renewal on %s failed: %s" % (issuer.name, renew.stderr[-2000:]))
            before = pebble_counts(pebble.log_path)
            wall, rc, tail = play(collections, "distribute.yml", inv, args.forks, "distribute_hosts")
            if rc != 0:
                raise SystemExit("distribute failed (rc %d):\n%s" % (rc, tail))
            orders = delta(before, pebble_counts(pebble.log_path))["orders"]
            result.update(distribute_s=round(wall, 1), distribute_orders=orders)
        return result
    finally:
        fleet.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mdfleet-fleet-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        collections = work / "collections"
        (collections / "ansible_collections" / "mdfleet").mkdir(parents=True)
        (collections / "ansible_collections" / "mdfleet" / "md").symlink_to(ROOT)
        # two fleets side by side (127.0.0.2.. and the next N addresses), one port pair, one pebble
        addresses = ["127.0.0.%d" % (2 + i) for i in range(2 * args.hosts)]
        http = free_port_on(addresses + ["127.0.0.1"])
        ports = (http, free_port_on(addresses, {http}))
        cts = ChallTestSrv(work / "challtestsrv").start()
        pebble = Pebble(work / "pebble", cts, http_port=http, env={"PEBBLE_AUTHZREUSE": "0"}).start()
        try:
            results = [run_mode("shared", True, args, work, collections, pebble, cts, 2, ports),
                       run_mode("perhost", False, args, work, collections, pebble, cts, 2 + args.hosts, ports)]
        finally:
            pebble.stop()
            cts.stop()
    ansible = str(Path(sys.executable).with_name("ansible"))
    peers = "pebble %s, nginx %s, ansible-core %s" % (
        _version(["dpkg-query", "-W", "-f", "${Version}\\n", "pebble"]), _version(["nginx", "-v"]),
        _version([ansible, "--version"]))
    print("fleet_bench: %d hosts, forks %d; %s; %s, %d CPUs, load %s" % (
        args.hosts, args.forks, peers, platform.machine(), os.cpu_count() or 0,
        " ".join("%.1f" % x for x in os.getloadavg())))
    header = ("mode", "orders", "accounts", "deploy s", "s per host", "redeploy s", "redeploy ord.", "distribute s")
    print("%-8s %7s %9s %10s %11s %12s %13s %14s" % header)
    for r in results:
        print("%-8s %7d %9d %10.1f %11.2f %12.1f %13d %14s" % (
            r["mode"], r["orders"], r["accounts"], r["deploy_s"], r["deploy_s_per_host"], r["redeploy_s"],
            r["redeploy_orders"], ("%.1f (%d orders)" % (r["distribute_s"], r["distribute_orders"]))
            if "distribute_s" in r else "-"))
    for r in results:  # where a first deploy's wall time goes
        print("%s deploy, slowest tasks: %s" % (r["mode"], "; ".join(
            "%s %.1f s" % (name, wall) for name, wall in r["deploy_slowest"])))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "peers": peers}, indent=2) + "\n")
    return 0


def _version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0].split()[-1].strip("[]") if text else "?"


if __name__ == "__main__":
    sys.exit(main())
