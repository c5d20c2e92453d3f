"""A full disk: the store on a small tmpfs mounted inside `unshare -m` (tmpfs_steps.py), filled
until only a few pages are left (0 to 48 KiB: every write of a renewal runs out at some point),
or until no inode is left. A `drive` with a domain due (its names changed) and one with nothing
due (only status files to write) run on it; then the space returns and the next run renews.

On the full disk: the old set stays active (or the new one is complete, when the space sufficed
up to its activation), every problem is one 'mdfleet:' line and each that says "No space left on
device" names the file, the run exits non-zero, nothing prints a traceback. After the space is
back: exit 0, the new names are covered, the store is consistent (no temp file, nothing pending).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mdcore.clock import Clock
from mdcore.store import Store
from peers.require import need

from .engine import BUG_MARKS, UTILS, command, copy_store, host_config, mdfleet, problems, serial

MD = "d"
NAMES = ["d.diskfull.example"]
STEPS = str(Path(__file__).with_name("tmpfs_steps.py"))
PAGE = 4096
LEAVE = (0, 1, 2, 3, 4, 6, 8, 12)  # pages left free when a renewal starts
TMPFS = "size=4m,nr_inodes=2000"


def in_namespace(spec: dict, folder: Path) -> list[dict]:
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run([need("unshare"), "-m", "--propagation", "private", sys.executable, STEPS, str(path)],
                          capture_output=True, text=True, timeout=600, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": UTILS})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def full_disk_findings(run: dict, copy: Path, old: int, names: list[str], root: Path) -> list[str]:
    """What is wrong with a run on the full disk (its store at ``root``) and the store it left
    (copied to ``copy``)."""
    found = []
    text = run["stderr"] + run["stdout"]
    if any(mark in text for mark in BUG_MARKS):
        found.append("a bug: %s" % run["stderr"])
    lines = [line for line in run["stderr"].splitlines() if line.strip()]
    found += ["not one line: %r" % line for line in lines if not line.startswith("mdfleet: ")]
    full = [line for line in lines if "No space left on device" in line]
    # each error (each part of a line: "...; the failure could not be recorded either: ...") names
    # the file it could not write; the warning of the probe names the store
    found += ["names no file: %r" % part for line in full if not line.startswith("mdfleet: warning: store ")
              for part in line.split("; ") if "No space left" in part and str(root) + "/" not in part]
    if run["code"] == 0 and full:
        found.append("exit 0 although: %s" % full)
    store = Store(str(copy), Clock())
    active = store.intact_set(MD)
    if active is None:
        found.append("no active set")
    elif active.certs["p256"].serial != old and sorted(active.names) != sorted(names):
        found.append("a new set for the wrong names: %s" % active.names)
    # a set activated before the disk ran out is reloaded by the next run: pending is right here
    found += [p for p in problems(copy, [MD]) if not p.startswith("installs pending")]
    return found


@pytest.mark.timeout(900)
def test_a_full_disk_keeps_the_old_set_and_the_next_run_recovers(pebble_standalone, work, figures):
    template = host_config(pebble_standalone, work / "template", {MD: NAMES})
    assert mdfleet(template, "drive").returncode == 0
    old = serial(work / "template" / "store", MD)
    mount = work / "mnt"
    mount.mkdir()
    due = NAMES + ["www.d.diskfull.example"]  # names changed: the drive orders a new set
    config = host_config(pebble_standalone, work / "config", {MD: due}, store=mount / "store")
    idle = host_config(pebble_standalone, work / "idle", {MD: NAMES}, store=mount / "store")
    cases = [("%d pages left" % pages, pages * PAGE, config, due) for pages in LEAVE]
    cases += [("no inode left", "inodes", config, due), ("no space for the status files", 0, idle, NAMES)]
    findings: list[str] = []
    failed = kept = recovered = inconsistent = tracebacks = 0
    for number, (what, leave, cfg, names) in enumerate(cases):
        out = work / ("case%d" % number)
        out.mkdir()
        steps = [{"fill": leave, "argv": command(cfg, "drive"), "copy_to": str(out / "full"), "empty": True},
                 {"argv": command(cfg, "renew", "--ignore-backoff"), "copy_to": str(out / "after")}]
        full, after = in_namespace({"mount": str(mount), "options": TMPFS,
                                    "template": str(work / "template" / "store"), "steps": steps}, out)
        found = full_disk_findings(full, out / "full", old, names, mount / "store")
        failed += full["code"] != 0
        kept += Store(str(out / "full"), Clock()).intact_set(MD).certs["p256"].serial == old
        if after["code"] != 0 or after["stderr"]:
            found.append("after the space came back: exit %d, %r" % (after["code"], after["stderr"]))
        while_full = [p for p in problems(out / "full", [MD]) if not p.startswith("installs pending")]
        left = problems(out / "after", [MD]) + while_full
        inconsistent += bool(left)
        tracebacks += sum(any(mark in run["stderr"] + run["stdout"] for mark in BUG_MARKS) for run in (full, after))
        found += problems(out / "after", [MD])
        active = Store(str(out / "after"), Clock()).intact_set(MD)
        if active is None or sorted(active.names) != sorted(names):
            found.append("not renewed after the space came back")
        recovered += not found
        findings += ["%s: %s" % (what, f) for f in found]
        if number == 0:
            copy_store(out / "full", work / "example")  # for a look when the test fails
    figures.add("disk full: %d runs on a full tmpfs (0-%d KiB or no inode left), %d exited non-zero, %d kept the "
                "old set active, %d recovered once the space came back"
                % (len(cases), max(LEAVE) * PAGE // 1024, failed, kept, recovered),
                runs=1 + 2 * len(cases), inconsistent=inconsistent, tracebacks=tracebacks)
    assert findings == []
    assert failed >= len(LEAVE) // 2, "the disk was never full enough to fail a run"
