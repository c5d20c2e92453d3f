"""OCSP stapling benchmark: the mdfleet engine refreshing N certificates against one local
`openssl ocsp` responder, beside that responder's capacity measured with a native client
(ApacheBench) in the same run.

Not a test: it prints figures and asserts nothing about time. What it does:

* enters a private network namespace with only `lo` (openssl ocsp listens on all addresses; needs
  root) and starts one `openssl ocsp -index ... -port N -rsigner ... -CA ...` (``--multi`` worker
  processes, default 1), for a P-256 test CA that issued ``--n`` certificates (default 1000), each
  the active certificate of a managed domain in a fresh store;
* measures the responder's capacity with ApacheBench (Debian's apache2-utils): ``ab -n N -c
  WORKERS -p <one OCSP request> -T application/ocsp-request`` (``-l``: the signed answers differ in
  length); ab does nothing with the answers, so this is what the responder can give. ab runs
  against a twin of the engine's responder (the same command line: CA, index, signer, -nmin) that
  is started for each ab run and stopped after it, on a port of its own: at its end ab closes a
  connection on which it sent nothing, and OpenSSL 3.0's responder then spins at 100% CPU and
  answers nobody again (seen here from the second ab run on);
* runs the engine (``mdcore.ocsp.refresh_staples`` over ``managed_targets``, ``--workers``
  exchanges at a time, each response verified, written to an nginx staple file per certificate
  and recorded in the store's staple book, written once per run) in a child process per
  interpreter (the venv's and Debian's /usr/bin/python3 with cryptography 38), so its peak RSS is
  its own: with everything due (first fetch: no staple yet), with nothing due (all responses
  fresh), and with everything due again 17 h later (replacing every stored response and staple
  file); and its HTTP stack alone (the same N requests, answers read and thrown away: no
  verification, nothing stored); every module from a .pyc file, as on hosts (the role compiles
  the engine): PYTHONPYCACHEPREFIX in the work folder, filled by one untimed run per engine and
  interpreter, whatever PYTHONDONTWRITEBYTECODE the calling shell sets;
* ``--compare-ref REV``: the engine of another revision (``git archive REV`` into a temp folder),
  run the same way on the same store against the same responder, side by side (issue 12: the old
  hand-written OCSP HTTP parser, before 7959e99, against the one HTTP stack);
* repeats everything ``--repeat`` times (default 3), ab and the engines interleaved per round (which
  engine goes first rotates from round to round) so
  that a busy moment of the machine hits both, and reports medians with every single figure;
* prints the engine's rate as a share of ab's (target, issue 13: at least a third for the first
  fetch of 1,000), the load average, and what creating one file costs in the work folder (the
  engine creates a staple file per certificate; ``--workdir /dev/shm`` takes the disk out).

Run (as root): /work/venv/bin/python bench/ocsp_bench.py [--n 1000] [--workers 16] [--repeat 3]
    [--compare-ref 7959e99^] [--workdir /dev/shm]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

DEBIAN_PY = "/usr/bin/python3"
SHIFT_AGAIN = 17 * 3600  # 17 h later: inside the 33% window of the 24 h responses, every one is replaced
BUSY_OTHERS = 5.0  # % of the CPUs' time other processes may use in a round that still counts as quiet
AB_SPREAD = 1.5  # ab's fastest round over its slowest beyond which the responder's capacity is not known


# -- child: one engine run ------------------------------------------------------------------------
def child(args: dict) -> None:
    """Runs in a fresh interpreter on ``args["engine"]`` (a plugins/module_utils folder): one
    refresh over the store's certificates, or the HTTP exchanges alone; prints JSON."""
    sys.path.insert(0, args["engine"])  # before this tree's, which the module's import put on the path
    import cryptography

    out = http_only(args) if args.get("http_only") else refresh(args)
    out.update(maxrss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cryptography=cryptography.__version__,
               python="%d.%d.%d" % sys.version_info[:3])
    print(json.dumps(out))


def refresh(args: dict) -> dict:
    from mdcore.clock import Clock
    from mdcore.ocsp import StaplingConfig, managed_targets, refresh_staples
    from mdcore.store import Store

    clock = Clock()
    store = Store(args["store"], clock)
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)  # a forked helper's CPU is the run's too
    started, cpu = time.perf_counter(), time.process_time()
    overrides = {md: {"staple_file": os.path.join(args["web"], md + ".der")} for md in store.managed_names()}
    targets = managed_targets(store, overrides)
    now = clock.now() + datetime.timedelta(seconds=args.get("shift", 0))
    if args.get("profile"):
        import cProfile
        prof = cProfile.Profile()
        results = prof.runcall(refresh_staples, store, targets, clock, now=now,
                               config=StaplingConfig(workers=args["workers"]))
        prof.dump_stats(args["profile"])
    else:
        results = refresh_staples(store, targets, clock, now=now, config=StaplingConfig(workers=args["workers"]))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu + _helpers_cpu(helpers)
    actions: dict[str, int] = {}
    for res in results:
        actions[res.action] = actions.get(res.action, 0) + 1
    return {"wall": wall, "cpu": cpu, "actions": actions, "targets": len(targets),
            "errors": sorted({r.error for r in results if r.error})[:3]}


def _helpers_cpu(before) -> float:
    """CPU seconds of the child processes (the engine's forked helper) reaped since ``before``."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def http_only(args: dict) -> dict:
    """The engine's HTTP stack alone: every certificate's request (built before the clock
    starts), the answers' bodies checked for HTTP 200 and thrown away. fetch_all where the
    engine has it; before it, ``workers`` threads calling fetch(), as that engine's refresh did."""
    from concurrent.futures import ThreadPoolExecutor

    from mdcore.clock import Clock, Deadline
    from mdcore.ocsp import DefaultTransport, StaplingConfig, fetch  # fetch: the module (fetch_all is newer)
    from mdcore.ocsp.request import build_request, read_subject, with_issuer
    from mdcore.store import Store

    store = Store(args["store"])
    config = StaplingConfig(workers=args["workers"])
    asks = []
    for md in store.managed_names():
        folder = os.path.join(store.active_dir(md), "p256")
        subject = with_issuer(read_subject(os.path.join(folder, "cert.pem"), None), os.path.join(folder, "chain.pem"))
        asks.append((subject.responder_url, build_request(subject)[0]))
    clock = Clock()
    transport = DefaultTransport()
    started, cpu = time.perf_counter(), time.process_time()
    if hasattr(fetch, "fetch_all"):
        requests = [(url, fetch.request_for(url, der, config)) for url, der in asks]
        ok = sum(isinstance(body, bytes) for _i, body in fetch.fetch_all(transport, requests, config, clock))
    else:
        def one(ask) -> bool:
            return bool(fetch.fetch(transport, ask[0], ask[1], config, Deadline(clock, config.timeout)))

        with ThreadPoolExecutor(config.workers) as pool:
            ok = sum(pool.map(one, asks))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    transport.close()
    return {"wall": wall, "cpu": cpu, "actions": {"ok": ok}, "targets": len(asks), "errors": []}


def child_env(pycache: str) -> dict:
    """The engine runs' environment: modules from .pyc files, as on hosts (the role compiles the
    engine), kept under ``pycache`` (PYTHONPYCACHEPREFIX: nothing written into the trees); a shell's
    PYTHONDONTWRITEBYTECODE would have every run compile its modules from source again."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run_child(python: str, args: dict, env: dict | None = None) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([python, __file__, "--child", json.dumps(args)], capture_output=True, text=True,
                          timeout=1800, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit("engine run under %s failed:\n%s" % (python, proc.stderr[-4000:]))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall"] = time.perf_counter() - started
    return out


# -- the peer's capacity: ApacheBench ---------------------------------------------------------
def ab_rate(twin, request_file: Path, n: int, concurrency: int) -> tuple[float, float, float]:
    """(responses/s, ab's CPU seconds, the responder's CPU seconds) of `ab -n n -c concurrency`
    POSTing one OCSP request to ``twin``, a responder started for this run alone (see above)."""
    with twin:
        before, peer = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(twin.pid())
        rate, cpu = _ab(twin.url, request_file, n, concurrency, before)
        return rate, cpu, cpu_seconds(twin.pid()) - peer


def _ab(url: str, request_file: Path, n: int, concurrency: int, before) -> tuple[float, float]:
    proc = subprocess.run(["ab", "-q", "-l", "-n", str(n), "-c", str(concurrency), "-p", str(request_file),
                           "-T", "application/ocsp-request", url], capture_output=True, text=True, timeout=600,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = re.search(r"^Failed requests:\s+(\d+)", proc.stdout, re.M)
    rate = re.search(r"^Requests per second:\s+([\d.]+)", proc.stdout, re.M)
    if proc.returncode != 0 or not rate or not failed or int(failed.group(1)):
        raise SystemExit("ab failed (exit %d):\n%s%s" % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return float(rate.group(1)), (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a running process (/proc/<pid>/stat)."""
    if pid is None:
        return 0.0
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- setup ----------------------------------------------------------------------------------------
def build_store(tmp: Path, n: int, url: str, ca):
    from mdcore.store import Store
    from peers.ocsp_pki import install_md

    store = Store(str(tmp / "store")).setup()
    leaves = []
    for i in range(n):
        md = "site%04d.bench.example" % i
        leaf = ca.issue(md, url)
        install_md(store, md, leaf)
        leaves.append(leaf)
    return store, leaves


def stapling_rig(tmp: Path, n: int):
    """(responder, store, web folder, the children's environment): one `openssl ocsp` for a fresh
    test CA, a store of ``n`` managed domains it certified, a folder for their staple files (the
    set-up of ocsp_partition.py and ocsp_timeline.py)."""
    from peers.ocsp_pki import OcspTestCA
    from peers.ocsp_responder import OpensslOcspResponder

    ca = OcspTestCA(str(tmp / "ca"))
    responder = OpensslOcspResponder(tmp / "responder", ca, nmin=24 * 60)
    store, _leaves = build_store(tmp, n, responder.url, ca)
    web = tmp / "web"
    web.mkdir()
    return responder, store, web, child_env(str(tmp / "pycache"))


def engine_tree(ref: str, tmp: Path) -> Path:
    """plugins/module_utils of revision ``ref``, from `git archive` into ``tmp``."""
    folder = tmp / "engine-ref"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "plugins/module_utils"], capture_output=True,
                             check=False)
    if archive.returncode != 0:
        raise SystemExit("git archive %s failed: %s" % (ref, archive.stderr.decode(errors="replace")))
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "plugins" / "module_utils"


def file_create_cost(folder: Path, count: int = 300) -> float:
    """CPU microseconds per new file in a fresh subfolder of ``folder`` (removed again)."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    try:
        started = time.process_time()
        for i in range(count):
            os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return (time.process_time() - started) / count * 1e6
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def reset_outputs(store, web: Path) -> None:
    """No staple yet: the store's ocsp/ folder emptied, the staple files removed."""
    shutil.rmtree(store.path("ocsp"))
    os.makedirs(store.path("ocsp"), mode=0o700)
    for f in web.iterdir():
        f.unlink()


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (its CPU, RSS and actions come along)."""
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def progress(line: str) -> None:
    print(line, flush=True)


def _load() -> str:
    return "%.1f %.1f %.1f" % os.getloadavg()


def _own_cpu(responder) -> float:
    """CPU seconds of the bench's processes so far: itself, its children that ended (engine runs,
    ab, the twin responders) and the engine's responder, which runs on."""
    cpu = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                resource.getrusage(resource.RUSAGE_CHILDREN)))
    return cpu + cpu_seconds(responder.pid())


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine so far (/proc/stat): how busy it was over
    a round, the other engineers' work included."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:9]]  # user .. steal (guest is in user)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


# -- main -----------------------------------------------------------------------------------------
def bench(opts) -> None:
    from peers.ocsp_pki import OcspTestCA
    from peers.ocsp_responder import OpensslOcspResponder, ocsp_request_der

    tmp = Path(tempfile.mkdtemp(prefix="ocsp-bench-", dir=opts.workdir))
    create_us = file_create_cost(tmp)
    loads = [_load()]
    try:
        engines = [("this tree", str(ROOT / "plugins" / "module_utils"))]
        if opts.compare_ref:
            engines.append((opts.compare_ref, str(engine_tree(opts.compare_ref, tmp))))
        ca = OcspTestCA(str(tmp / "ca"))
        responder = OpensslOcspResponder(tmp / "responder", ca, nmin=24 * 60, multi=opts.multi)
        twin = OpensslOcspResponder(tmp / "responder-ab", ca, nmin=24 * 60, multi=opts.multi)
        t0 = time.perf_counter()
        store, leaves = build_store(tmp, opts.n, responder.url, ca)
        web = tmp / "web"
        web.mkdir()
        request_file = tmp / "request.der"
        request_file.write_bytes(ocsp_request_der(leaves[0].cert, ca.cert))
        progress("setup: %d certificates and managed domains in %.1f s" % (opts.n, time.perf_counter() - t0))
        pythons = [sys.executable] + ([DEBIAN_PY] if os.path.exists(DEBIAN_PY) and
                                      os.path.realpath(DEBIAN_PY) != os.path.realpath(sys.executable) else [])
        abs_, ab_cpus, peer_cpus = [], [], []
        others_rounds: list[float] = []  # per round: the share of the CPUs' time other processes used (%)
        runs: dict[tuple, list] = {}
        env = child_env(str(tmp / "pycache"))
        with responder:
            for engine, python in [(e, p) for _n, e in engines for p in pythons]:
                reset_outputs(store, web)  # an untimed run first: every module it imports is compiled
                run_child(python, {"store": store.root, "web": str(web), "workers": opts.workers, "engine": engine},
                          env)
            progress("warm-up: one untimed first fetch per engine and interpreter (modules compiled to .pyc)")
            for _round in range(opts.repeat):
                ticks, own = cpu_ticks(), _own_cpu(responder)
                rate, cpu, peer = ab_rate(twin, request_file, opts.n, opts.workers)
                abs_.append(rate)
                ab_cpus.append(cpu)
                peer_cpus.append(peer)
                sides = [(name, engine, python) for name, engine in engines for python in pythons]
                shift = _round % len(sides)  # each side goes first in some round: no place is always the same
                for name, engine, python in sides[shift:] + sides[:shift]:
                    args = {"store": store.root, "web": str(web), "workers": opts.workers, "engine": engine}
                    reset_outputs(store, web)
                    if opts.profile:
                        args["profile"] = os.path.join(opts.profile, "%s-%s-cold-%d.prof" % (
                            re.sub(r"\W+", "_", name), os.path.basename(python), _round + 1))
                    for kind, extra in (("cold", {}), ("warm", {}), ("again", {"shift": SHIFT_AGAIN}),
                                        ("http", {"http_only": True})):
                        before = cpu_seconds(responder.pid())
                        out = run_child(python, dict(args, **extra) if kind == "cold" else
                                        dict({k: v for k, v in args.items() if k != "profile"}, **extra), env)
                        out["peer_cpu"] = cpu_seconds(responder.pid()) - before
                        runs.setdefault((name, python, kind), []).append(out)
                        progress("round %d: %s %s %s: %.3f s, CPU %.3f s (responder %.2f s), %s"
                                 % (_round + 1, name, os.path.basename(python), kind, out["wall"], out["cpu"],
                                    out["peer_cpu"], out["actions"]))
                loads.append(_load())
                busy, total = (now - then for now, then in zip(cpu_ticks(), ticks, strict=True))
                tick = os.sysconf("SC_CLK_TCK")
                others = 100.0 * max(0.0, busy / tick - (_own_cpu(responder) - own)) / max(1e-9, total / tick)
                loads[-1] += " (others %.0f%%)" % others
                others_rounds.append(others)
                progress("round %d: ab %.0f resp/s (ab CPU %.2f s, responder %.2f s); load average %s (others: "
                         "processes other than the bench's, share of the CPUs' time over the round)"
                         % (_round + 1, rate, cpu, peer, loads[-1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(opts, engines, pythons, (abs_, ab_cpus, peer_cpus), runs, loads, create_us, others_rounds)


def verdict(share: float, ab_rounds: list[float], others: list[float]) -> str:
    """Whether the engine reached a third of ab's rate; none when the responder's capacity is not
    known: ab's rounds far apart, or other processes busy in half of the rounds (a slowed ab makes
    the engine look fast: 2026-12-03 18:38, ab 1,880-5,893 resp/s, "met" at 1/2.46)."""
    busy = [o for o in others if o > BUSY_OTHERS]
    if max(ab_rounds) > AB_SPREAD * min(ab_rounds) or 2 * len(busy) >= max(1, len(others)):
        return "no verdict: ab's rounds %.0f-%.0f resp/s, others above %.0f%% in %d of %d rounds; run again" % (
            min(ab_rounds), max(ab_rounds), BUSY_OTHERS, len(busy), len(others))
    return "met" if share >= 1 / 3 else "NOT met"


def report(opts, engines, pythons, ab_runs: tuple, runs: dict, loads: list, create_us: float,
           others: list[float]) -> None:
    abs_, ab_cpus, peer_cpus = ab_runs
    ab = statistics.median(abs_)
    rows = [("ab -n %d -c %d (the responder's capacity)" % (opts.n, opts.workers), opts.n, opts.n / ab, ab,
             None, statistics.median(ab_cpus), None, statistics.median(peer_cpus))]
    first: dict[tuple, float] = {}
    for name, _engine in engines:
        for python in pythons:
            cold, warm, again, http = (_median_run(runs[(name, python, k)]) for k in ("cold", "warm", "again", "http"))
            label = "%s, py %s, cryptography %s" % (name, cold["python"], cold["cryptography"])
            first[(name, python)] = opts.n / cold["wall"]
            for what, run, rate in (("first fetch", cold, True), ("nothing due", warm, False),
                                    ("replacing", again, True), ("HTTP only", http, True)):
                rows.append(("%s: %s" % (what, label), opts.n, run["wall"], opts.n / run["wall"] if rate else None,
                             run["maxrss_kb"], run["cpu"], opts.n / run["wall"] / ab if rate else None,
                             run["peer_cpu"]))
    print()
    print("%-72s %6s %8s %8s %8s %8s %9s %9s" % ("run", "certs", "wall s", "cpu s", "resp/s", "of ab", "peak RSS",
                                                 "peer cpu"))
    print("-" * 135)
    for name, count, wall, rate, rss, cpu, share, peer in rows:
        cells = ("%.3f" % wall if wall is not None else "-", "%.3f" % cpu if cpu is not None else "-",
                 "%.0f" % rate if rate is not None else "-", "1/%.2f" % (1 / share) if share else "-",
                 "%d MB" % (rss // 1024) if rss else "-", "%.2f" % peer)
        print("%-72s %6d %8s %8s %8s %8s %9s %9s" % ((name, count) + cells))
    print("medians of %d rounds (ab and every engine run once per round, interleaved); work folder %s; "
          "%d CPUs; load average (1, 5, 15 min) at the start and after each round (others: the share of the "
          "CPUs' time that processes other than the bench's used in it): %s"
          % (opts.repeat, opts.workdir or tempfile.gettempdir(), os.cpu_count() or 0, " | ".join(loads)))
    print("cpu s: the client's (ab's, or the engine child's rusage); peer cpu: the responder's (/proc/<pid>/stat)")
    print("the engines run from .pyc files (PYTHONPYCACHEPREFIX, compiled by an untimed run each), as on hosts")
    print("creating a file in the work folder costs %.0f us of CPU (300 files, os.open O_CREAT|O_EXCL)" % create_us)
    print("every round:")
    print("  %-80s %s" % ("ab resp/s", " ".join("%.0f" % r for r in abs_)))
    for (name, python, kind), values in runs.items():
        print("  %-80s %s" % ("%s %s %s: wall s" % (name, os.path.basename(python), kind),
                              " ".join("%.3f" % r["wall"] for r in values)))
    print()
    for (name, python), rate in first.items():
        cold, warm, again = (_median_run(runs[(name, python, k)]) for k in ("cold", "warm", "again"))
        share = rate / ab
        print("%s, %s: first fetch %.0f resp/s = 1/%.2f of ab's %.0f (target at least 1/3: %s); replacing 1/%.2f; "
              "nothing due %.3f s (%.2f s with interpreter start); actions %s / %s / %s%s"
              % (name, os.path.basename(python), rate, 1 / share, ab, verdict(share, abs_, others),
                 ab / (opts.n / again["wall"]), warm["wall"], warm["process_wall"], cold["actions"], warm["actions"],
                 again["actions"], ("; errors: %s" % (cold["errors"] + again["errors"]))
                 if cold["errors"] or again["errors"] else ""))
    if len(engines) > 1:
        (this, _e), (ref, _r) = engines
        for python in pythons:
            for kind, what in (("cold", "first fetch"), ("again", "replacing"), ("http", "HTTP only")):
                new, old = (_median_run(runs[(e, python, kind)]) for e in (this, ref))
                print("%s vs %s, %s, %s: %.0f vs %.0f resp/s (%+.0f%%), CPU %.3f vs %.3f s (%+.0f%%)"
                      % (this, ref, os.path.basename(python), what, opts.n / new["wall"], opts.n / old["wall"],
                         (old["wall"] / new["wall"] - 1) * 100, new["cpu"], old["cpu"],
                         (new["cpu"] / old["cpu"] - 1) * 100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--n", type=int, default=1000, help="certificates (default 1000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="exchanges in flight: the engine's workers and ab's -c (default: what hosts run "
                        "with, the engine's stapling.workers default)")
    parser.add_argument("--multi", type=int, default=None, help="openssl ocsp -multi worker processes")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--compare-ref", help="also run the engine of this git revision (git archive), side by side")
    parser.add_argument("--workdir", help="folder for CA, store and staple files (default: the temp dir; "
                        "/dev/shm shows the engine without disk costs)")
    parser.add_argument("--profile", metavar="DIR", help="cProfile of each first fetch (the run's own process, "
                        "not its helper), one .prof file per engine, interpreter and round in DIR")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(json.loads(opts.child))  # before any import of mdcore: the child picks its engine tree
        return
    if opts.workers is None:
        from mdcore.options.defaults import STAPLING_WORKERS

        opts.workers = STAPLING_WORKERS
    if opts.profile:  # the children write into it: made here, absolute (they run elsewhere)
        opts.profile = os.path.abspath(opts.profile)
        os.makedirs(opts.profile, exist_ok=True)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the responder needs a private network namespace (unshare -n)")
    if shutil.which("ab") is None:
        raise SystemExit("ab (ApacheBench) is missing: apt-get install apache2-utils (scripts/install-deps.sh)")
    from peers.ocsp_responder import private_netns

    with private_netns():
        bench(opts)


if __name__ == "__main__":
    main()
