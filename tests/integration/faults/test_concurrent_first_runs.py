"""Concurrent first runs: 30 `mdfleet drive` started at once on a store that does not exist yet
(the timer and a playbook, or many playbook forks, on a new host). They raced on one probe file
before taking the lock, and 1-3 of 200 failed with "store is not usable" (issue 10 item 5).

None may fail or print a traceback; the store lock lets one order while the others wait and then
find nothing due: each certificate is issued once (no second order, none left pending at the CA),
the archive holds one set per domain, and the store is consistent."""

from __future__ import annotations

import os
import subprocess

import pytest

from .engine import BUG_MARKS, ENGINE_TIMEOUT, command, engine_env, host_config, log_mark, problems, wasted_orders

RUNS = 30
DOMAINS = {"c1": ["c1.concurrent.example"], "c2": ["c2.concurrent.example", "www.c2.concurrent.example"]}


@pytest.mark.timeout(600)
def test_concurrent_first_runs_issue_each_certificate_once(pebble_standalone, work, figures):
    store = work / "new" / "store"  # neither the store nor its parent exists yet
    config = host_config(pebble_standalone, work / "host", DOMAINS, store=store, lock_wait=300)
    mark = log_mark(pebble_standalone)
    procs = [subprocess.Popen(command(config, "drive"), env=engine_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _run in range(RUNS)]
    results = [(proc.wait(ENGINE_TIMEOUT * 2), *proc.communicate()) for proc in procs]
    findings = ["run %d exited %d: %s" % (number, code, err.strip())
                for number, (code, _out, err) in enumerate(results) if code != 0]
    unusable = sum("not usable" in err for _code, _out, err in results)
    tracebacks = sum(any(mark in out + err for mark in BUG_MARKS) for _code, out, err in results)
    waste, states = wasted_orders(pebble_standalone, store, mark, needed=len(DOMAINS))
    if waste or states.count("valid") != len(DOMAINS):
        findings.append("orders %s for %d certificates" % (states, len(DOMAINS)))
    sets = sorted(os.listdir(store / "archive"))
    if sets != sorted("%s.1" % md for md in DOMAINS):
        findings.append("archive: %s" % sets)
    bad = problems(store, list(DOMAINS))
    findings += bad
    ordered = sum(" order " in out for _code, out, _err in results)
    failed = sum(code != 0 for code, _out, _err in results)
    figures.add("concurrent first runs: %d drives at once on a new store, %d exited non-zero, %d 'not usable', "
                "%d ordered, %d orders for %d certificates" % (RUNS, failed, unusable, ordered, len(states),
                                                               len(DOMAINS)),
                runs=RUNS, inconsistent=bool(bad), wasted=waste, tracebacks=tracebacks)
    assert findings == [] and unusable == 0 and tracebacks == 0
