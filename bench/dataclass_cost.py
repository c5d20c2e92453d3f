"""What the @dataclass decorator costs the engine's start-up on the renew path: the time spent in
dataclasses' class processing and in the exec() that compiles each generated method, while the
modules a `mdfleet renew` imports before its first order are imported (from .pyc files).

Not a test: it prints figures. Run: /usr/bin/python3 -I bench/dataclass_cost.py [--repeat 3]
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        measure(args.child)
        return 0
    tmp = tempfile.mkdtemp(prefix="mdfleet-dc-")
    try:
        shutil.copytree(ENGINE, os.path.join(tmp, "mdcore"), ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", tmp], check=True)
        print("python %s" % sys.version.split()[0], flush=True)
        for _round in range(args.repeat):
            subprocess.run([sys.executable, "-I", os.path.abspath(__file__), "--child", tmp], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
