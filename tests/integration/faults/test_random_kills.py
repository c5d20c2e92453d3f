"""Kills at random moments: a forced renewal against pebble, SIGKILLed after a random delay (a
power cut or the OOM killer does not wait for a write point: this lands inside requests, key
generation, the challenge's validation, a write), on a copy of one store per kill; then the
timer's `mdfleet drive`. Afterwards the store must be consistent, the renewal must have cost at most
one order (two where the kill made the CA's order fail, e.g. its challenge went unanswered), and no
run printed a traceback. A bounded number of kills, each moment drawn from a seeded generator: the
seed is printed (and MDFLEET_FAULT_SEED replays a run)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from peers.wait import poll

from .engine import ENGINE_TIMEOUT, KillTally, command, copy_store, engine_env, host_config, log_mark, mdfleet, serial

MD = "r"
DOMAINS = {MD: ["r.faults.example"]}
KILLS = 20


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def renewal(config: Path, trace: Path) -> subprocess.Popen:
    return subprocess.Popen(command(config, "renew", "--force", MD), env=engine_env(MDFLEET_FAULT_TRACE=str(trace)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_write(proc: subprocess.Popen, trace: Path) -> float | None:
    """When the run reached its first write point (the engine has started, read its config and the
    store): woken by the trace file's first line, within ENGINE_TIMEOUT, as the kills are real
    time. None when it ended before."""

    def reached() -> str | None:
        if proc.poll() is not None:
            return "ended"
        return "writing" if lines(trace) else None

    state = poll(reached, ENGINE_TIMEOUT, "the renewal's first write point", interval=None, pid=proc.pid,
                 watch=[trace.parent])  # woken by the trace's first line or the run's end
    return time.monotonic() if state == "writing" else None


def writing_time(config: Path, trace: Path) -> float:
    """How long a whole forced renewal writes: from its first write point to its last."""
    proc = renewal(config, trace)
    first = first_write(proc, trace)
    seen = {"lines": lines(trace), "last": first}

    def ended() -> bool:
        if lines(trace) != seen["lines"]:
            seen.update(lines=lines(trace), last=time.monotonic())
        return proc.poll() is not None

    poll(ended, ENGINE_TIMEOUT, "the timed renewal", interval=None, pid=proc.pid, watch=[trace.parent])
    out, err = proc.communicate()
    assert proc.returncode == 0 and first is not None, err
    return seen["last"] - first


def killed_after(config: Path, trace: Path, delay: float) -> subprocess.CompletedProcess:
    """`renew --force` killed (SIGKILL) ``delay`` seconds after its first write point, unless it
    ended before."""
    proc = renewal(config, trace)
    first = first_write(proc, trace)
    if first is not None:
        try:
            proc.wait(max(0.0, first + delay - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=ENGINE_TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.timeout(900)
def test_kill_at_random_moments_of_a_renewal(pebble_validating, work, figures):
    seed = int(os.environ.get("MDFLEET_FAULT_SEED") or random.SystemRandom().randrange(2 ** 32))
    rng = random.Random(seed)
    template = host_config(pebble_validating, work / "template", DOMAINS)
    assert mdfleet(template, "drive").returncode == 0
    base = work / "template" / "store"
    old = serial(base, MD)

    def copy(name: str):
        config = host_config(pebble_validating, work / name, DOMAINS)
        return config, copy_store(base, work / name / "store")

    # Time 0 of a kill is the run's first write point (a kill before it, while Python starts,
    # tests nothing); its moment is drawn over how long a whole renewal writes, measured here.
    span = writing_time(copy("timed")[0], work / "timed" / "trace")
    tally = KillTally(pebble_validating, MD, old)
    finished = 0
    for number in range(1, KILLS + 1):
        delay = rng.uniform(0, span)
        config, store = copy("k%d" % number)
        mark = log_mark(pebble_validating)
        kill = killed_after(config, work / ("k%d" % number) / "trace", delay)
        finished += kill.returncode == 0
        if kill.returncode not in (0, -signal.SIGKILL):
            tally.findings.append("kill %d: the renewal exited %d: %s" % (number, kill.returncode,
                                                                          kill.stderr.strip()))
        tally.after_kill("kill %d after %.3fs" % (number, delay), kill, config, store, mark)
    figures.add("random kills (seed %d): %d kills at random moments of a forced renewal (over the %.2fs it writes), "
                "%d ended before their kill, %d renewed after the kill, %s"
                % (seed, tally.killed, span, finished, tally.renewed, tally.totals()), runs=3 + 2 * KILLS,
                inconsistent=tally.inconsistent, wasted=tally.wasted, tracebacks=tally.tracebacks)
    assert tally.findings == [] and tally.tracebacks == 0, "seed %d (MDFLEET_FAULT_SEED=%d replays it)" % (seed, seed)
    assert tally.killed >= KILLS // 2, "seed %d: most renewals ended before their kill" % seed
