"""Where a first fetch of N staples spends its wall time: marks in the run's own process (targets,
book, plan, the exchange side's imports, the helper's fork, the first and every 250th finished
staple, prune, save, flush, end), for the engine under Debian's /usr/bin/python3 against one
`openssl ocsp` responder in a private network namespace, as bench/ocsp_bench.py runs it.

Not a test: it prints one line of marks (milliseconds from the start of managed_targets) per
round. The marks wrap engine functions by name (refresh._plan, _prepare, _finish, persist's book,
split's fork through forked.Helper.start) and an import hook: a probe of this tree, not an API.

Run (as root): /work/venv/bin/python bench/ocsp_timeline.py [--n 1000] [--rounds 3] [--workers 16]
    [--python /usr/bin/python3] [--profile DIR]   # DIR: cProfile of the run and of its helper
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (BENCH, ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

WATCHED_IMPORTS = ("mdcore.ocsp.split", "mdcore.ocsp.fetch", "mdcore.net.client", "mdcore.ocsp.request",
                   "cryptography.x509", "mdcore.ocsp.verify")


def child(store_root: str, web: str, workers: int, profile: str | None) -> None:
    """One first fetch with marks; prints JSON."""
    from mdcore import forked
    from mdcore.clock import Clock
    from mdcore.ocsp import StaplingConfig, managed_targets, persist, refresh, refresh_staples
    from mdcore.store import Store

    t0 = [time.perf_counter()]
    marks: list[tuple[str, float]] = []

    def mark(name: str) -> None:
        marks.append((name, round((time.perf_counter() - t0[0]) * 1000, 1)))

    class ImportMarks:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in WATCHED_IMPORTS:
                mark("import " + name)

    sys.meta_path.insert(0, ImportMarks())
    counts = {"plan": 0, "prepare": 0, "finish": 0}

    def counted(name: str, func, every: tuple = ()):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            if counts[name] == 1:
                mark(name + " first <")
            out = func(*args, **kwargs)
            if counts[name] == 1:
                mark(name + " first >")
            if counts[name] in every:
                mark("%s %d" % (name, counts[name]))
            return out
        return wrapper

    def around(name: str, func):
        def wrapper(*args, **kwargs):
            mark(name + " <")
            try:
                return func(*args, **kwargs)
            finally:
                mark(name + " >")
        return wrapper

    refresh._plan = counted("plan", refresh._plan, (1000,))
    refresh._prepare = counted("prepare", refresh._prepare)
    refresh._finish = counted("finish", refresh._finish, (250, 500, 750, 1000))
    refresh.sync_filesystems = around("flush", refresh.sync_filesystems)
    persist.prune = around("prune", persist.prune)
    persist.StapleBook.save = around("save", persist.StapleBook.save)
    real_fork = forked.Helper.start.__func__

    def fork(cls, work, clock):
        mark("fork")
        if profile:
            def work_profiled(send, work=work):
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
                try:
                    work(send)
                finally:
                    prof.disable()
                    prof.dump_stats(os.path.join(profile, "helper.prof"))
            return real_fork(cls, work_profiled, clock)
        return real_fork(cls, work, clock)

    forked.Helper.start = classmethod(fork)
    clock = Clock()
    store = Store(store_root, clock)
    overrides = {md: {"staple_file": os.path.join(web, md + ".der")} for md in store.managed_names()}
    config = StaplingConfig(workers=workers)
    t0[0], cpu = time.perf_counter(), time.process_time()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    targets = managed_targets(store, overrides)
    mark("targets")
    results = refresh_staples(store, targets, clock, config=config)
    mark("end")
    if prof is not None:
        prof.disable()
        prof.dump_stats(os.path.join(profile, "run.prof"))
    print(json.dumps({"marks": marks, "cpu": time.process_time() - cpu, "staples": len(results)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--profile", metavar="DIR")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        child(opts.child[0], opts.child[1], int(opts.child[2]), opts.profile)
        return
    import ocsp_bench

    from peers.ocsp_responder import private_netns

    if opts.profile:
        opts.profile = os.path.abspath(opts.profile)
        os.makedirs(opts.profile, exist_ok=True)
    with private_netns():
        tmp = Path(tempfile.mkdtemp(prefix="ocsp-timeline-", dir="/dev/shm"))
        try:
            responder, store, web, env = ocsp_bench.stapling_rig(tmp, opts.n)
            with responder:
                for round_ in range(opts.rounds + 1):  # round 0 compiles the modules (untimed)
                    ocsp_bench.reset_outputs(store, web)
                    argv = [opts.python, __file__, "--child", store.root, str(web), str(opts.workers)]
                    if opts.profile and round_ == opts.rounds:
                        argv += ["--profile", opts.profile]
                    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
                    if out.returncode != 0:
                        raise SystemExit("the engine run failed:\n" + out.stderr[-4000:])
                    got = json.loads(out.stdout.splitlines()[-1])
                    if round_:
                        print("round %d, CPU %.3f s (the run's process): %s" % (
                            round_, got["cpu"], "  ".join("%s %s" % (name, ms) for name, ms in got["marks"])))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
