"""Status of 1,000 synthetic managed domains, built by the engine from the store.

Not a test: it prints figures (target: build + md-status JSON of 1,000 domains under 0.3 s).
The store is written in the engine's layout by tests/unit/status/synth.py (set.json, jobs/ with
config snapshots, ocsp/ staple metadata; a realistic mix: 1 in 3 domains with two key types, some
renewing, expiring, failing, without OCSP responder, first order in progress). What is timed:

* build:   mdcore.status.build_status(store, clock): every file read, no certificate parsed
* json:    report_json(report): the md-status dict (what md_status returns as facts)
* html, prom: the host page and the Prometheus text
* write:   write_status_files(): every view into <store>/status/ (with fsync; one file per domain)

Each figure is the best of --repeat runs, wall clock (perf_counter) and CPU (process_time): on a
busy machine the CPU figure is the steadier one.

Run: /work/main/.venv/bin/python bench/status_bench.py [--n 1000] [--repeat 7]
     /usr/bin/python3 bench/status_bench.py       (Debian 12's python3 and cryptography 38)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests")]


TARGET = 0.3


def best(fn, repeat: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _run in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), result


def main() -> int:
    # the engine and the synthetic store builder live beside this script, on the path set above
    from unit.status.synth import fleet_mix, make_store

    from mdcore.clock import FakeClock
    from mdcore.status import build_status, render_html, render_prometheus, report_json, write_status_files
    from mdcore.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="managed domains (default 1000)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    clock = FakeClock()
    with tempfile.TemporaryDirectory(prefix="status-bench-") as tmp:
        root = make_store(str(Path(tmp) / "store"), clock.now(), fleet_mix(args.n))
        store = Store(root, clock)
        build_status(store, clock)  # warm the page cache and imports: a timer run finds both warm too
        b_wall, b_cpu, report = best(lambda: build_status(store, clock), args.repeat)
        j_wall, j_cpu, doc = best(lambda: report_json(report), args.repeat)
        h_wall, h_cpu, _page = best(lambda: render_html(report), args.repeat)
        p_wall, p_cpu, _metrics = best(lambda: render_prometheus(report), args.repeat)
        w_wall, w_cpu, _written = best(lambda: write_status_files(store, build_status(store, clock)), 3)
        certs = sum(len(md.certs) for md in report.domains)
        size = len(json.dumps(doc))
    total_wall, total_cpu = b_wall + j_wall, b_cpu + j_cpu
    print("status bench: %d managed domains, %d certificates (Python %s, %s)" % (
        args.n, certs, platform.python_version(), sys.executable))
    print("  summary        %s" % report.summary())
    print("  build_status   %.3f s wall  %.3f s cpu" % (b_wall, b_cpu))
    print("  md-status json %.3f s wall  %.3f s cpu  (%d KB)" % (j_wall, j_cpu, size // 1024))
    print("  html page      %.3f s wall  %.3f s cpu" % (h_wall, h_cpu))
    print("  prometheus     %.3f s wall  %.3f s cpu" % (p_wall, p_cpu))
    print("  write all      %.3f s wall  %.3f s cpu  (build + %d files, fsync each)"
          % (w_wall, w_cpu, args.n + 3))
    verdict = "within" if total_wall < TARGET else "OVER"
    print("status of %d domains (build + json): %.3f s wall, %.3f s cpu: %s the %.1f s target" % (
        args.n, total_wall, total_cpu, verdict, TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
