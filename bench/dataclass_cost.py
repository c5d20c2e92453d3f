"""What the @dataclass decorator costs the engine's start-up on the renew path: the time spent in
dataclasses' class processing and in the exec() that compiles each generated method, while the
modules a `mdfleet renew` imports before its first order are imported (from .pyc files).

``--exec-cache``: the same imports, in turn with and without a cache of the compiled methods
(a marshal file of code objects keyed by the generated source, filled by one untimed run; the
module's exec() then runs the cached code object): what such a cache, built on the host for its
Python, would take off every engine start. A probe for the lead, not the engine's code.

Not a test: it prints figures. Run: /usr/bin/python3 -I bench/dataclass_cost.py [--repeat 3] [--exec-cache]
"""

from __future__ import annotations

import argparse
import builtins
import os
import shutil
import subprocess
import sys
import tempfile
import time

ENGINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins", "module_utils", "mdcore")
RENEW_PATH = ("mdcore.cli", "mdcore.issuance", "mdcore.manager", "mdcore.orderfork", "mdcore.status.build",
              "mdcore.acme.order", "mdcore.challenges.http01", "mdcore.persist_cli")


def measure_cached(lib: str, cache: str, use: bool) -> float:
    """In a fresh interpreter: import the renew path, its dataclasses' methods compiled (``use``:
    taken from ``cache`` where it has them; misses are compiled and added); returns ms."""
    import marshal

    sys.path.insert(0, lib)
    started = time.perf_counter()
    import dataclasses

    try:
        with open(cache, "rb") as handle:
            codes = marshal.load(handle)
    except OSError:
        codes = {}
    missed: dict = {}

    def cached_exec(src, globs=None, locs=None):
        if not isinstance(src, str):
            return builtins.exec(src, globs, locs)
        code = codes.get(src)
        if code is None:
            code = missed[src] = compile(src, "<string>", "exec")
        return builtins.exec(code, globs, locs)

    if use:
        dataclasses.exec = cached_exec  # the module's global shadows the builtin it calls
    for name in RENEW_PATH:
        __import__(name)
    total = (time.perf_counter() - started) * 1000
    if use and missed:
        codes.update(missed)
        with open(cache, "wb") as handle:
            marshal.dump(codes, handle)
    return total


def measure(lib: str) -> None:
    """In a fresh interpreter: import the renew path with timing wrappers; print one line."""
    sys.path.insert(0, lib)
    import dataclasses

    spent = {"classes": 0.0, "exec": 0.0}
    counts = {"classes": 0, "exec": 0}
    process = dataclasses._process_class

    def timed_exec(src, globs=None, locs=None):
        started = time.perf_counter()
        try:
            return builtins.exec(src, globs, locs)
        finally:
            spent["exec"] += time.perf_counter() - started
            counts["exec"] += 1

    def timed_process(*args, **kwargs):
        started = time.perf_counter()
        try:
            return process(*args, **kwargs)
        finally:
            spent["classes"] += time.perf_counter() - started
            counts["classes"] += 1

    dataclasses.exec = timed_exec  # the module's global shadows the builtin it calls
    dataclasses._process_class = timed_process
    started = time.perf_counter()
    for name in RENEW_PATH:
        __import__(name)
    total = time.perf_counter() - started
    print("imports %.1f ms; @dataclass %.1f ms for %d classes, of it exec %.1f ms (%d methods)"
          % (total * 1000, spent["classes"] * 1000, counts["classes"], spent["exec"] * 1000, counts["exec"]))


def exec_cache_rounds(lib: str, repeat: int) -> None:
    """Imports of the renew path without and with the cache, alternating; medians printed."""
    import statistics

    cache = os.path.join(lib, "dataclass-code.marshal")

    def child(use: bool) -> float:
        argv = [sys.executable, "-I", os.path.abspath(__file__), "--child", lib, "--cache", cache]
        out = subprocess.run(argv + (["--use"] if use else []), check=True, capture_output=True, text=True)
        return float(out.stdout.split()[-1])

    child(True)  # fills the cache (untimed)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _round in range(repeat):
        for use in (False, True):
            times[use].append(child(use))
    for use in (False, True):
        print("%s: imports %.1f ms median (%s)" % ("with the cache" if use else "without", statistics.median(
            times[use]), " ".join("%.1f" % t for t in times[use])))
    print("cache file: %d KiB" % (os.path.getsize(cache) // 1024))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--exec-cache", action="store_true", help="imports with and without a cache of the "
                    "compiled dataclass methods, in turn")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    ap.add_argument("--use", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child and args.cache:
        print("%.1f" % measure_cached(args.child, args.cache, args.use))
        return 0
    if args.child:
        measure(args.child)
        return 0
    tmp = tempfile.mkdtemp(prefix="mdfleet-dc-")
    try:
        shutil.copytree(ENGINE, os.path.join(tmp, "mdcore"), ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", tmp], check=True)
        print("python %s" % sys.version.split()[0], flush=True)
        if args.exec_cache:
            exec_cache_rounds(tmp, args.repeat)
            return 0
        for _round in range(args.repeat):
            subprocess.run([sys.executable, "-I", os.path.abspath(__file__), "--child", tmp], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
