"""Kills at write points: a forced renewal against pebble is killed (SIGKILL, as a power cut or the
OOM killer would) at each of its write points (mdcore/faults.py), on a copy of one store per
point; then the timer's `mdfleet drive` runs. After it the store must be consistent (the active
set reads, its files are the bytes recorded at activation and the key is the certificate's, no temp
file and no pending install is left), the renewal cost at most one order (a killed run's order is
resumed, never wasted), and no run printed a traceback."""

from __future__ import annotations

import re

import pytest

from mdcore.faults import FORKED_BASE
from mdcore.orderfork import FORK_MIN_DUE

from .engine import (
    KillTally,
    bugs,
    copy_store,
    host_config,
    log_mark,
    mdfleet,
    one_line_errors,
    problems,
    serial,
    wasted_orders,
)

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


def _kind(line: str, names: list[str]) -> str:
    """What a traced write point changes, without the domain and the random part of a name."""
    _number, what, path = line.split(" ", 2)
    for name in names:
        path = path.replace(name, "<md>")
    return "%s %s" % (what, re.sub(r"[0-9a-z_]{6,}(?=[^/]*$)|\d+", "#", path))


@pytest.mark.timeout(900)
def test_kill_at_every_write_point_of_a_forked_order_process(pebble_standalone, work, figures):
    """A renewal big enough to fork an order process (mdcore/orderfork.py) is killed in that
    process at the first write point of each kind it has (its points are numbered from
    faults.FORKED_BASE). The run goes on: its own domains are renewed, each domain the order
    process held is reported by name; after the next drive the store is consistent (an order it
    had begun is resumed: no order wasted)."""
    domains = {"k%02d" % i: ["k%02d.faults.example" % i] for i in range(FORK_MIN_DUE)}
    names = sorted(domains)
    template = host_config(pebble_standalone, work / "template", domains)
    first = mdfleet(template, "drive")
    assert first.returncode == 0, first.stderr
    base = work / "template" / "store"
    old = {md: serial(base, md) for md in names}

    def copy(name: str) -> tuple:
        config = host_config(pebble_standalone, work / name, domains)
        return config, copy_store(base, work / name / "store")

    trace = work / "trace"
    traced = mdfleet(copy("traced")[0], "renew", "--force", trace=trace)
    assert traced.returncode == 0, traced.stderr
    forked = [line for line in trace.read_text().splitlines() if int(line.split(" ", 1)[0]) > FORKED_BASE]
    assert len(forked) >= 20 * 2, trace.read_text()  # the order process renewed some of the domains
    points: dict[str, int] = {}
    for line in forked:
        points.setdefault(_kind(line, names), int(line.split(" ", 1)[0]))
    assert len(points) >= 10, points

    killed = inconsistent = wasted = tracebacks = 0
    findings = []
    for kind, point in sorted(points.items(), key=lambda item: item[1]):
        config, store = copy("p%d" % point)
        mark = log_mark(pebble_standalone)
        kill = mdfleet(config, "renew", "--force", kill_at=point)
        lines = one_line_errors(kill.stderr)
        held = sorted({md for line in lines if "order process" in line for md in names if md + ":" in line})
        killed += kill.returncode == 1 and bool(held)
        if kill.returncode != 1 or not held or len(held) == len(names):
            findings.append("%s (point %d): exit %d, %s" % (kind, point, kill.returncode, kill.stderr.strip()))
        renewed_now = [md for md in names if md not in held and serial(store, md) != old[md]]
        if len(renewed_now) != len(names) - len(held):
            findings.append("%s: the run's own domains not all renewed: %s" % (kind, renewed_now))
        after = mdfleet(config, "drive")
        tracebacks += bugs(kill, after)
        bad = problems(store, names)
        if after.returncode != 0:
            bad.append("drive exited %d: %s" % (after.returncode, after.stderr.strip()))
        if bad:
            inconsistent += 1
            findings.append("%s (point %d): %s" % (kind, point, "; ".join(bad)))
        waste, states = wasted_orders(pebble_standalone, store, mark, needed=len(names))
        if waste:
            wasted += waste
            findings.append("%s: orders %s for %d renewals" % (kind, states, len(names)))
    figures.add("kills in the forked order process: %d kinds of its %d write points, %d kills reported by name, "
                "%d inconsistent stores, %d wasted orders" % (len(points), len(forked), killed, inconsistent, wasted),
                runs=2 + 2 * len(points), inconsistent=inconsistent, wasted=wasted, tracebacks=tracebacks)
    assert findings == [] and tracebacks == 0
    assert killed == len(points)
