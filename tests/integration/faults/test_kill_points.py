"""The fault suite (`make faults`): a forced renewal against pebble is killed (SIGKILL, as a power
cut or the OOM killer would) at each of its write points (mdcore/faults.py), on a copy of one store
per point; then the timer's `mdfleet drive` runs. After it the store must be consistent (the active
set reads, its files are the bytes recorded at activation and the key is the certificate's, no temp
file and no pending install is left), the renewal cost at most one order (a killed run's order is
resumed, never wasted), and no run printed a traceback. The figures are printed at the end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mdcore.clock import Clock
from mdcore.fsutil import TEMP_PREFIX
from mdcore.store import Store

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")
MD = "f"
ENGINE_TIMEOUT = 120


def mdfleet(config: Path, *args: str, kill_at: int = 0, trace: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=UTILS)
    env.pop("MDFLEET_TRACEBACK", None)
    if kill_at:
        env["MDFLEET_FAULT_KILL_AT"] = str(kill_at)
    if trace:
        env["MDFLEET_FAULT_TRACE"] = str(trace)
    return subprocess.run([sys.executable, "-m", "mdcore", "--config", str(config), *args], env=env,
                          capture_output=True, text=True, timeout=ENGINE_TIMEOUT, check=False)


def host_config(pebble, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "store": str(folder / "store"), "stapling": {"enabled": False},
        "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                     "http01_mode": "standalone", "standalone_address": "127.0.0.1",
                     "standalone_port": pebble.http_port},
        "domains": [{"name": MD, "domains": ["f.faults.example"]}],
        "reload": {"test_command": [sys.executable, "-c", "pass"],
                   "reload_command": [sys.executable, "-c", "open(%r, 'a').write('x')" % str(folder / "reloaded")]},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(doc))
    return path


def orders_created(pebble) -> int:
    return pebble.log_path.read_text(errors="replace").count("Added order")


def problems(root: Path) -> list[str]:
    """What is inconsistent in the store at ``root``; empty when nothing."""
    store = Store(str(root), Clock())
    found = []
    try:
        active = store.active_set(MD)
    except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
        return ["the active set does not read: %s" % exc]
    if active is None:
        return ["no active set"]
    damage = store.damage(MD, active)
    if damage:
        found.append(damage)
    for kt in active.key_types:
        folder = Path(store.active_dir(MD), kt)
        cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / "privkey.pem").read_bytes(), None)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != \
                key.public_key().public_bytes(serialization.Encoding.DER, spki):
            found.append("%s: the key is not the certificate's" % folder)
    for dirpath, _dirs, files in os.walk(root):
        found += [os.path.join(dirpath, n) + " left behind" for n in files if n.startswith(TEMP_PREFIX)]
    installs = root / "installs"
    if installs.is_dir() and os.listdir(installs):
        found.append("installs pending: %s" % sorted(os.listdir(installs)))
    return found


def serial(root: Path) -> int:
    return Store(str(root), Clock()).active_set(MD).certs["p256"].serial


@pytest.mark.timeout(900)
def test_kill_at_every_write_point_of_a_renewal(pebble_standalone, tmp_path, capsys):
    template = host_config(pebble_standalone, tmp_path / "template")
    first = mdfleet(template, "drive")
    assert first.returncode == 0, first.stderr
    base = tmp_path / "template" / "store"
    old = serial(base)

    def copy(name: str) -> Path:
        config = host_config(pebble_standalone, tmp_path / name)
        shutil.copytree(base, tmp_path / name / "store", symlinks=True)
        return config

    trace = tmp_path / "trace"
    traced = mdfleet(copy("traced"), "renew", "--force", MD, trace=trace)
    assert traced.returncode == 0, traced.stderr
    points = len(trace.read_text().splitlines())
    assert points >= 20, trace.read_text()  # a renewal writes the job, staging, the archive, the link

    killed = inconsistent = wasted = tracebacks = renewed = 0
    findings = []
    for point in range(1, points + 1):
        config = copy("p%d" % point)
        store = tmp_path / ("p%d" % point) / "store"
        before = orders_created(pebble_standalone)
        kill = mdfleet(config, "renew", "--force", MD, kill_at=point)
        killed += kill.returncode == -9
        after = mdfleet(config, "drive")  # the timer's next run
        runs = (kill, after)
        tracebacks += sum("Traceback" in run.stderr for run in runs)
        bad = problems(store)
        if after.returncode != 0:
            bad.append("drive exited %d: %s" % (after.returncode, after.stderr.strip()))
        if bad:
            inconsistent += 1
            findings.append("point %d: %s" % (point, "; ".join(bad)))
        made = orders_created(pebble_standalone) - before
        if made > 1:
            wasted += made - 1
            findings.append("point %d: %d orders for one renewal" % (point, made))
        renewed += not bad and serial(store) != old
    with capsys.disabled():
        print("\nfaults: %d write points of a forced renewal, %d kills, %d renewed after the kill, "
              "%d inconsistent stores, %d wasted orders, %d tracebacks" % (points, killed, renewed, inconsistent,
                                                                           wasted, tracebacks))
    assert killed == points
    assert findings == [] and wasted == 0 and tracebacks == 0
