"""What a flush of a set's files costs, fsynced one after the other (what fsutil does) or from a pool
of threads at once (what it did until 2026-12-03, to have the journal commit them together), with
several writers at once as in a run's order threads. CPU is the process's rusage per flush, wall the
whole run's. Files are written as a set's are (1.5 KB each, durable=False), then flushed with their
folder (fsutil.flush).

Not a test: it prints figures. Run: /usr/bin/python3 -I bench/fsync_bench.py [--dir /var/tmp]
[--files 5] [--writers 1 4 8] [--flushes 50] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins", "module_utils"))

from mdcore import fsutil  # noqa: E402  (the engine from this checkout)
from mdcore.workpool import run_each  # noqa: E402

THREADS = 8  # the pool the engine used per flush (PARALLEL_FSYNCS)


def in_turn(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


def from_threads(fds: list[int]) -> None:
    if len(fds) <= 2:
        in_turn(fds)
        return
    run_each(os.fsync, fds, THREADS, "bench-fsync")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_pattern(base: str, pattern, files: int, writers: int, flushes: int) -> tuple[float, float]:
    """(CPU ms per flush, wall s) of ``writers`` threads doing ``flushes`` flushes each."""
    fsutil._fsync_all = pattern  # what fsutil.flush calls for its files and folders

    def writer(k: int) -> None:
        folder = os.path.join(base, "w%d" % k)
        os.makedirs(folder, exist_ok=True)
        paths = [os.path.join(folder, "f%d" % i) for i in range(files)]
        for _flush in range(flushes):
            for path in paths:
                fsutil.atomic_write(path, os.urandom(1500), durable=False)
            fsutil.flush(paths, [folder])

    cpu0, wall0 = cpu(), time.perf_counter()
    workers = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (cpu() - cpu0) * 1000 / (writers * flushes), time.perf_counter() - wall0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--dir", default="/var/tmp", help="a folder on the file system to measure")
    parser.add_argument("--files", type=int, default=5, help="files per flush (a set: key, cert, chain, fullchain, "
                                                             "pending install)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--flushes", type=int, default=50, help="flushes per writer")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    real = fsutil._fsync_all
    print("%s, %d files per flush, %d flushes per writer; os.fsync in turn vs a pool of %d threads per flush"
          % (args.dir, args.files, args.flushes, THREADS))
    print("| writers | pattern | CPU ms per flush (rounds) | wall s (rounds) |")
    print("|---|---|---|---|")
    try:
        for writers in args.writers:
            rounds: dict[str, list[tuple[float, float]]] = {"in turn": [], "threads": []}
            for _round in range(args.repeat):  # interleaved, so that a noisy moment hits both
                for name, pattern in (("in turn", in_turn), ("threads", from_threads)):
                    base = tempfile.mkdtemp(prefix="fsync-bench-", dir=args.dir)
                    try:
                        rounds[name].append(one_pattern(base, pattern, args.files, writers, args.flushes))
                    finally:
                        shutil.rmtree(base)
            for name, got in rounds.items():
                print("| %d | %s | %s | %s |" % (writers, name, " ".join("%.2f" % c for c, _w in got),
                                                 " ".join("%.2f" % w for _c, w in got)))
    finally:
        fsutil._fsync_all = real
    return 0


if __name__ == "__main__":
    sys.exit(main())
