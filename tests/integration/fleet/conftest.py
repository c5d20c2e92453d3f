"""Fleets of local hosts for the role's fleet tests: tests/peers/fleet.py hosts (own store, config,
nginx on 127.0.0.N), a fresh pebble per fleet (its log counts what was issued), the shared challtestsrv."""

from __future__ import annotations

import importlib.util
import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from integration.ansible_run import ansible_playbook
from peers.challtestsrv import ChallTestSrv
from peers.fleet import Fleet, pebble_counts
from peers.nginx import NGINX
from peers.pebble import Pebble, PebbleFactory
from peers.require import need

# Needs Ansible (the venv run). Not pytest.importorskip here: raised in a conftest, pytest 7.2
# (Debian's, the /usr/bin/python3 run) skips the whole session, so that run collected no test.
if importlib.util.find_spec("ansible") is None:
    collect_ignore_glob = ["test_*.py"]

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
_ids = itertools.count(1)


@dataclass
class FleetRun:
    """A started fleet with its own pebble; names are unique per fleet (challtestsrv is shared)."""

    fleet: Fleet
    pebble: Pebble
    challtestsrv: ChallTestSrv
    collections: Path
    workdir: Path
    domain: str
    roots: Path = field(init=False)

    def __post_init__(self) -> None:
        self.roots = self.pebble.write_roots(self.workdir / "pebble-roots.pem")

    def name(self, label: str) -> str:
        return "%s.%s" % (label, self.domain)

    def point(self, names: list[str], address: str) -> None:
        for name in names:
            self.challtestsrv.add_a(name, address)

    def defaults(self) -> dict:
        return {"acme_directory": self.pebble.directory_url, "ca_bundle": self.pebble.ca_bundle, "agree_tos": True,
                "contact": ["mailto:hostmaster@%s" % self.domain]}

    def counts(self) -> dict[str, int]:
        return pebble_counts(self.pebble.log_path)

    def play(self, book: str, inventory: Path, *extra: str, timeout: float = 1800):
        path = PLAYBOOKS / book if "/" not in book else Path(book)
        # pipelining: one process per module instead of a copy + run (a third faster on these hosts)
        return ansible_playbook(self.collections, path, str(inventory), "-e", "deploy_become=false",
                                "-e", "distribute_become=false", "-e", "fleet_status_become=false", *extra,
                                timeout=timeout, extra_env={"ANSIBLE_PIPELINING": "1"})


@pytest.fixture
def fleet_run(tmp_path: Path, pebble_factory: PebbleFactory, challtestsrv: ChallTestSrv,
              ansible_collections_dir: Path) -> Iterator:
    """make(count) -> a FleetRun with `count` started hosts (stopped at the end of the test)."""
    need(NGINX)
    started: list[Fleet] = []

    def make(count: int, first_address: int = 2, spare: int = 0) -> FleetRun:
        fleet = Fleet(tmp_path / ("fleet%d" % len(started)), count, first_address=first_address, spare=spare).start()
        started.append(fleet)
        # authz reuse off: every order validates (and pebble 2.4 cannot deadlock in its reuse lookup)
        pebble = pebble_factory(fresh=True, http_port=fleet.http_port, env={"PEBBLE_AUTHZREUSE": "0"})
        return FleetRun(fleet, pebble, challtestsrv, ansible_collections_dir, tmp_path,
                        "f%d%s.fleet.test" % (next(_ids), secrets.token_hex(3)))

    yield make
    for fleet in started:
        fleet.stop()


def ok(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def recap(proc) -> dict:
    """The play recap per host from the json callback's stats."""
    doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    return doc["stats"]


SHARED = ("shop", "api", "static")


def shared_fleet(run: FleetRun, path: Path, issuer: str = "h1", point_to: str = "h3", holder: str | None = "h1",
                 override: dict[str, dict] | None = None) -> Path:
    """The issue's fleet: 3 shared managed domains (issuer `issuer`, declared once in group_vars, their
    names resolving to `point_to`, so pebble's validations reach a member that forwards them) and one
    per-host domain per host; one ACME account for the fleet (held by `holder`)."""
    target = run.fleet[point_to].address
    shared = []
    for label in SHARED:
        names = [run.name(label), run.name("www." + label)]
        run.point(names, target)
        shared.append({"name": label, "domains": names, "issuer": issuer,
                       "site": {"root": "{{ fleet_test_site_root }}"}})
    host_vars = {}
    for host in run.fleet.hosts:
        own = run.name(host.name)
        run.point([own], host.address)
        host_vars[host.name] = {"managed_domains_domains": shared + [
            {"domains": [own], "site": {"root": "{{ fleet_test_site_root }}"}}]}
    group_vars: dict = {"managed_domains_defaults": run.defaults()}
    if holder:
        group_vars["managed_domains_account_holder"] = holder
    return run.fleet.inventory(path, group_vars, host_vars, override)


def unreachable() -> dict:
    """Variables that make a host unreachable (ssh to a closed loopback port)."""
    return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_ssh_timeout": 5}


def serials(run: FleetRun, md: str = "shop") -> dict[str, str]:
    """host -> the serial its nginx serves for the shared domain `md`, verified against pebble's roots."""
    return {host.name: host.served_serial(run.name(md), run.roots) for host in run.fleet.hosts}
