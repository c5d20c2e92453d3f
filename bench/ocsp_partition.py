"""What a stapling run split by domain would take: ``--parts`` independent engine processes, each
planning, asking, verifying and storing its own share of the domains (no serial head in one
process, no hand-over of answers), against the engine's run as it is (one run and its forked
helper), on the same store and responder, interleaved round by round.

A measurement of a design, not a mode of the engine: each part saves its own staple book (the
last one wins, the others' entries are lost; nothing is pruned), which is acceptable here because
every round starts from an empty book again. The parts are started together: each imports the
store side, says it is ready, and waits for one byte on a pipe before its clock starts; the
exchange side (HTTP client, cryptography) is imported inside the timed part, as in a real run.
The wall time is from the first part's start to the last part's end.

Run (as root, like ocsp_bench.py): /work/venv/bin/python bench/ocsp_partition.py [--n 1000]
    [--parts 2] [--repeat 5] [--python /usr/bin/python3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import ocsp_bench  # noqa: E402  (this folder: its store, responder and child helpers)

READY = "ready"


def part(args: dict) -> None:
    """One part: the domains ``k, k + parts, ...`` of the store, timed from the barrier on."""
    sys.path.insert(0, args["engine"])
    from mdcore.clock import Clock
    from mdcore.ocsp import StaplingConfig, managed_targets, refresh_staples
    from mdcore.store import Store

    clock = Clock()
    store = Store(args["store"], clock)
    names = sorted(store.managed_names())[args["k"]::args["parts"]]
    overrides = {md: {"staple_file": os.path.join(args["web"], md + ".der")} for md in names}
    print(READY, flush=True)
    os.read(args["go"], 1)
    started, cpu = time.perf_counter(), time.process_time()
    targets = managed_targets(store, overrides, domains=names)
    results = refresh_staples(store, targets, clock, config=StaplingConfig(workers=args["workers"]),
                              processes=1, prune=False)
    print(json.dumps({"started": started, "ended": time.perf_counter(), "cpu": time.process_time() - cpu,
                      "fetched": sum(r.action == "fetched" for r in results), "count": len(results)}))


def partitioned(python: str, store, web: Path, engine: str, parts: int, workers: int, env: dict) -> dict:
    """One round of ``parts`` processes started together; wall, CPU and fetched of all of them."""
    read_end, write_end = os.pipe()
    try:
        procs = [subprocess.Popen([python, __file__, "--part", json.dumps(
            {"store": store.root, "web": str(web), "engine": engine, "k": k, "parts": parts, "go": read_end,
             "workers": max(1, workers // parts)})], stdout=subprocess.PIPE, text=True, env=env, pass_fds=(read_end,))
            for k in range(parts)]
        for proc in procs:  # each has imported the store side and waits for the pipe
            if proc.stdout.readline().strip() != READY:
                raise SystemExit("a part did not start: exit %s" % proc.wait(60))
        os.write(write_end, b"g" * parts)
        outs = []
        for proc in procs:
            stdout = proc.communicate(timeout=600)[0]
            if proc.returncode != 0:
                raise SystemExit("a part failed (exit %d)" % proc.returncode)
            outs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        os.close(read_end)
        os.close(write_end)
    return {"wall": max(o["ended"] for o in outs) - min(o["started"] for o in outs),
            "cpu": sum(o["cpu"] for o in outs), "fetched": sum(o["fetched"] for o in outs),
            "parts": ["%.3f" % (o["ended"] - o["started"]) for o in outs]}


def bench(opts) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ocsp-partition-", dir=opts.workdir))
    engine = str(ocsp_bench.ROOT / "plugins" / "module_utils")
    runs: dict[str, list] = {"run and helper": [], "%d parts" % opts.parts: []}
    try:
        responder, store, web, env = ocsp_bench.stapling_rig(tmp, opts.n)
        args = {"store": store.root, "web": str(web), "workers": opts.workers, "engine": engine}
        with responder:
            ocsp_bench.reset_outputs(store, web)
            ocsp_bench.run_child(opts.python, args, env)  # untimed: every module compiled to .pyc
            for number in range(opts.repeat):
                sides = list(runs)
                for side in sides[number % 2:] + sides[:number % 2]:
                    ocsp_bench.reset_outputs(store, web)
                    if side == "run and helper":
                        out = ocsp_bench.run_child(opts.python, args, env)
                        out["fetched"] = out["actions"].get("fetched", 0)
                    else:
                        out = partitioned(opts.python, store, web, engine, opts.parts, opts.workers, env)
                    runs[side].append(out)
                    print("round %d: %s: %.3f s wall, CPU %.3f s, fetched %d%s" % (
                        number + 1, side, out["wall"], out["cpu"], out["fetched"],
                        " (parts %s s)" % " ".join(out["parts"]) if "parts" in out else ""), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    for side, values in runs.items():
        walls = [v["wall"] for v in values]
        print("%-16s %d staples, %s: median %.3f s wall (%.0f resp/s), CPU %.3f s; rounds %s" % (
            side, opts.n, opts.python, statistics.median(walls), opts.n / statistics.median(walls),
            statistics.median(v["cpu"] for v in values), " ".join("%.3f" % w for w in walls)))
    print("load average at the end: %.1f %.1f %.1f" % os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--n", type=int, default=1000, help="certificates (default 1000)")
    parser.add_argument("--parts", type=int, default=2, help="processes, each with its share of the domains")
    parser.add_argument("--workers", type=int, default=8,
                        help="exchanges in flight in all (default 8), shared by the run and its helper, or the parts")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are reported (default 5)")
    parser.add_argument("--python", default=ocsp_bench.DEBIAN_PY, help="interpreter of the engine runs")
    parser.add_argument("--workdir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                        help="folder for CA, store and staple files (default /dev/shm)")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.part:
        part(json.loads(opts.part))
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root: the responder needs a private network namespace (unshare -n)")
    from peers.ocsp_responder import private_netns

    with private_netns():
        bench(opts)


if __name__ == "__main__":
    main()
