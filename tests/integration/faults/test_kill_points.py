"""Kills at write points: a forced renewal against pebble is killed (SIGKILL, as a power cut or the
OOM killer would) at each of its write points (mdcore/faults.py), on a copy of one store per
point; then the timer's `mdfleet drive` runs. After it the store must be consistent (the active
set reads, its files are the bytes recorded at activation and the key is the certificate's, no temp
file and no pending install is left), the renewal cost at most one order (a killed run's order is
resumed, never wasted), and no run printed a traceback."""

from __future__ import annotations

import pytest

from .engine import KillTally, copy_store, host_config, log_mark, mdfleet, serial

MD = "f"
DOMAINS = {MD: ["f.faults.example"]}


@pytest.mark.timeout(900)
def test_kill_at_every_write_point_of_a_renewal(pebble_standalone, work, figures):
    template = host_config(pebble_standalone, work / "template", DOMAINS)
    first = mdfleet(template, "drive")
    assert first.returncode == 0, first.stderr
    base = work / "template" / "store"
    old = serial(base, MD)

    def copy(name: str) -> tuple:
        config = host_config(pebble_standalone, work / name, DOMAINS)
        return config, copy_store(base, work / name / "store")

    trace = work / "trace"
    traced = mdfleet(copy("traced")[0], "renew", "--force", MD, trace=trace)
    assert traced.returncode == 0, traced.stderr
    points = len(trace.read_text().splitlines())
    assert points >= 20, trace.read_text()  # a renewal writes the job, staging, the archive, the link

    tally = KillTally(pebble_standalone, MD, old)
    for point in range(1, points + 1):
        config, store = copy("p%d" % point)
        mark = log_mark(pebble_standalone)
        kill = mdfleet(config, "renew", "--force", MD, kill_at=point)
        tally.after_kill("point %d" % point, kill, config, store, mark)
    figures.add("kills at write points: %d write points of a forced renewal, %d kills, %d renewed after the kill, "
                "%s" % (points, tally.killed, tally.renewed, tally.totals()), runs=2 + 2 * points,
                inconsistent=tally.inconsistent, wasted=tally.wasted, tracebacks=tally.tracebacks)
    assert tally.killed == points
    assert tally.findings == [] and tally.wasted == 0 and tally.tracebacks == 0
