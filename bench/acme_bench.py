"""Side-by-side ACME issuance benchmark on one local pebble: the mdfleet engine on the host path
(`mdfleet renew`, under the venv's Python and under Debian's /usr/bin/python3, engine compiled
to .pyc as installed on hosts) against Apache mod_md (Debian's apache2, mod_md 2.6.10), and
optionally certbot, in the same run.

Not a test: it prints figures and asserts nothing about time. What it does:

* starts Debian's pebble + pebble-challtestsrv on loopback (tests/peers/), PEBBLE_VA_NOSLEEP=1,
  PEBBLE_AUTHZREUSE=0 and, by default, PEBBLE_WFE_NONCEREJECT=0, the same for every client;
* installs the engine as the role does (plugins/module_utils/mdcore copied into a lib folder,
  compiled with compileall, started with ``python3 -I`` through mdcore.__main__ as the role's zipapp is);
* per ``--n N`` and round (``--repeat``, fresh names and stores each time), one after the other:
  - engine: ``mdfleet --config C renew`` for N managed domains (one name each, P-256,
    http-01 by the standalone listener on pebble's http port, ``--workers`` at a time), from
    process start to exit, under each interpreter;
  - mod_md: one apache2 (own ServerRoot on 127.0.0.1, mod_md + mod_ssl) with one MDomain per
    name, MDPrivateKeys secp256r1, from process start until md-status shows every renewal
    finished;
  - certbot (``--certbot-max K``): K sequential ``certbot certonly --standalone``;
* measures wall, the client's CPU (rusage of the engine's process; /proc of every apache process
  for mod_md; the sum over certbot's processes), pebble's CPU over the same time, and prints the
  medians, the ratio mod_md wall / engine wall, and the floor: (client CPU + pebble CPU) / cores,
  the wall a side could not beat on this machine if it used every core;
* a hung CA (pebble 2.4 can deadlock under parallel orders: newOrder -> FindValidAuthorization,
  even with AUTHZREUSE=0): when a side does not finish, pebble is asked for a new account; if
  that hangs, its goroutines are dumped (SIGQUIT, into its log, kept), a fresh pebble is
  started and the round is run again, and the output says so.

Run: /work/venv/bin/python bench/acme_bench.py --n 20 --n 100 --repeat 3
Profile the engine's order work: ... --n 100 --profile (in one process, no order process: the CPU
time of each phase of an order, per order, under each Python)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ENGINE = ROOT / "plugins" / "module_utils" / "mdcore"
for _p in (ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

DEBIAN_PY = "/usr/bin/python3"
CERTBOT_VENV = BENCH / ".venv-certbot"
CERTBOT_REQS = BENCH / "requirements-certbot.txt"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
ORDER_TIMEOUT = 60  # a hung CA ends the engine's orders after this long
# What the role's zipapp runs (mdcore.__main__.main: the quiet memo, the CLI, the exit without the
# interpreter's teardown); a --baseline revision from before main() runs command(), as its zipapp did.
LAUNCHER = '''#!/usr/bin/python3 -I
import sys
sys.path.insert(0, {lib!r})
import mdcore.__main__ as entry
entry.main() if hasattr(entry, "main") else sys.exit(entry.command())
'''


# -- measuring processes -----------------------------------------------------------------------
@dataclass
class ProcStats:
    wall: float
    cpu: float  # user + sys seconds
    maxrss_kb: int
    returncode: int
    stdout: str = ""
    stderr: str = ""


def run_measured(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900.0) -> ProcStats:
    """Run one process; its own rusage (os.wait4), not the sum over every child we ever had."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits for it again
    out.seek(0)
    err.seek(0)
    return ProcStats(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode,
                     out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def proc_cpu(pid: int, children: bool = False) -> float:
    """user+sys CPU seconds a running process has used so far (with its reaped children)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / CLK_TCK


@dataclass
class SideResult:
    client: str
    n: int
    done: int = 0
    failed: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    maxrss_kb: int = 0
    ca_cpu: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.done == self.n and not self.failed

    @property
    def floor(self) -> float:
        return (self.cpu + self.ca_cpu) / CORES


# -- peers -----------------------------------------------------------------------------------------
class Peers:
    """pebble + challtestsrv; ``renew()`` replaces a hung pebble by a fresh one."""

    def __init__(self, nonce_reject: int, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": str(nonce_reject), "PEBBLE_AUTHZREUSE": "0"}
        self.generation = 0
        self.challtestsrv = None
        self.pebble = None

    def start(self) -> Peers:
        from peers.challtestsrv import ChallTestSrv
        from peers.pebble import Pebble

        self.generation += 1
        self.challtestsrv = ChallTestSrv(self.tmp / ("challtestsrv-%d" % self.generation)).start()
        self.pebble = Pebble(self.tmp / ("pebble-%d" % self.generation), self.challtestsrv, env=self.env).start()
        return self

    def stop(self) -> None:
        if self.pebble is not None:
            self.pebble.stop()
        if self.challtestsrv is not None:
            self.challtestsrv.stop()

    def hung(self) -> bool:
        """Whether pebble no longer answers a newAccount (what its store deadlock blocks)."""
        from peers.acme_mini import MiniAcme

        outcome: dict = {}

        def probe() -> None:
            try:
                outcome["status"] = MiniAcme(self.pebble.directory_url, self.pebble.ca_bundle).register().status_code
            except Exception as exc:  # noqa: BLE001 - any failure of the probe counts as "not answering"
                outcome["error"] = str(exc)

        worker = threading.Thread(target=probe, daemon=True)
        worker.start()
        worker.join(15)
        return worker.is_alive() or outcome.get("status") not in (200, 201)

    def renew(self) -> str:
        """Dump the hung pebble's goroutines into its log (kept), start a fresh pair; returns the log."""
        self.pebble.proc.send_signal(signal.SIGQUIT)
        try:
            self.pebble.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        kept = self.tmp.parent / ("pebble-hung-%d-%d.log" % (os.getpid(), self.generation))
        shutil.copy(self.pebble.log_path, kept)
        self.stop()
        self.start()
        return str(kept)


# -- the engine on the host path -------------------------------------------------------------------
def install_engine(folder: Path, pythons: list[str], rev: str | None = None) -> Path:
    """The engine as installed on hosts (lib/mdcore + the launcher), compiled for each interpreter:
    this checkout's, or git revision ``rev``'s (--baseline)."""
    lib = folder / "lib"
    if rev is None:
        shutil.copytree(ENGINE, lib / "mdcore", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        lib.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "plugins/module_utils/mdcore"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(lib), "--strip-components=2"], input=archive, check=True)
    for python in pythons:
        subprocess.run([python, "-m", "compileall", "-q", str(lib)], check=True)
    launcher = folder / "mdfleet"
    launcher.write_text(LAUNCHER.format(lib=str(lib)))
    return launcher


def host_config(peers: Peers, names: list[str], folder: Path, workers: int) -> Path:
    pebble = peers.pebble
    doc = {
        "store": str(folder / "store"), "challenges_dir": str(folder / "challenges"), "workers": workers,
        "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                     "http01_mode": "standalone", "standalone_address": "127.0.0.1",
                     "standalone_port": pebble.http_port, "key_types": ["p256"], "order_timeout": ORDER_TIMEOUT},
        "domains": [{"name": name, "domains": [name]} for name in names],
        "stapling": {"enabled": False},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(doc))
    return path


def bench_engine(peers: Peers, launcher: Path, python: str, label: str, n: int, workers: int,
                 run_id: str) -> SideResult:
    folder = peers.tmp / ("engine-" + run_id)
    if folder.exists():  # the round again, on a fresh CA after a hung one
        shutil.rmtree(folder)
    folder.mkdir()
    names = ["e%s-%03d.bench.example" % (run_id, i) for i in range(n)]
    config = host_config(peers, names, folder, workers)
    ca0 = proc_cpu(peers.pebble.proc.pid)
    stats = run_measured([python, "-I", str(launcher), "--config", str(config), "renew"], timeout=120 + 2 * n)
    res = SideResult(label, n, wall=stats.wall, cpu=stats.cpu, maxrss_kb=stats.maxrss_kb,
                     ca_cpu=proc_cpu(peers.pebble.proc.pid) - ca0)
    domains = folder / "store" / "domains"
    res.done = sum(1 for name in names if (domains / name / "p256" / "fullchain.pem").exists())
    res.failed = n - res.done
    if stats.returncode != 0 or res.failed:
        res.notes.append("exit %d: %s" % (stats.returncode, stats.stderr.strip()[-600:]))
    return res


# -- mod_md -----------------------------------------------------------------------------------------
def bench_modmd(peers: Peers, n: int, run_id: str) -> SideResult:
    from peers.apache_md import ApacheMd

    names = ["m%s-%03d.bench.example" % (run_id, i) for i in range(n)]
    apache = ApacheMd(peers.tmp / ("apache-" + run_id), names, peers.pebble.directory_url, peers.pebble.ca_bundle,
                      peers.pebble.http_port)
    res = SideResult("mod_md 2.6.10 (apache2)", n)
    ca0 = proc_cpu(peers.pebble.proc.pid)
    started = time.monotonic()
    apache.start()
    try:
        deadline = started + 120 + 2 * n
        while time.monotonic() < deadline:
            try:
                finished, failed, errors = apache.renewed()
            except OSError:
                finished, failed, errors = 0, 0, []
            if finished + failed >= n:
                break
            time.sleep(0.01)
        res.wall = time.monotonic() - started
        res.cpu = sum(proc_cpu(pid, children=True) for pid in apache.pids())
        res.ca_cpu = proc_cpu(peers.pebble.proc.pid) - ca0
        res.done, res.failed = finished, n - finished
        if res.failed:
            res.notes.append("%d not renewed: %s" % (res.failed, "; ".join(errors[:3]) or "timeout"))
    finally:
        apache.stop()
    return res


# -- certbot (optional) -------------------------------------------------------------------------
def certbot_bin() -> Path:
    """bench/.venv-certbot/bin/certbot, (re)installed from requirements-certbot.txt when needed."""
    exe = CERTBOT_VENV / "bin" / "certbot"
    stamp = CERTBOT_VENV / ".requirements"
    wanted = CERTBOT_REQS.read_text()
    if exe.exists() and stamp.exists() and stamp.read_text() == wanted:
        return exe
    print("creating %s from %s ..." % (CERTBOT_VENV, CERTBOT_REQS.name), flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    if CERTBOT_VENV.exists():
        shutil.rmtree(CERTBOT_VENV)
    subprocess.run([base, "-m", "venv", str(CERTBOT_VENV)], check=True)
    subprocess.run([str(CERTBOT_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    "-r", str(CERTBOT_REQS)], check=True)
    stamp.write_text(wanted)
    return exe


def bench_certbot(peers: Peers, exe: Path, n: int, run_id: str) -> SideResult:
    base = peers.tmp / ("certbot-" + run_id)
    dirs = []
    for sub in ("config", "work", "logs"):
        (base / sub).mkdir(parents=True)
        dirs += ["--%s-dir" % sub, str(base / sub)]
    env = dict(os.environ, REQUESTS_CA_BUNDLE=peers.pebble.ca_bundle)
    res = SideResult("certbot 5.8 (sequential)", n)
    ca0 = proc_cpu(peers.pebble.proc.pid)
    for i in range(n):
        name = "c%s-%03d.bench.example" % (run_id, i)
        stats = run_measured([str(exe), "certonly", "--standalone", "--http-01-port", str(peers.pebble.http_port),
                              "--http-01-address", "127.0.0.1", "--server", peers.pebble.directory_url,
                              "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
                              "--key-type", "ecdsa", "-d", name, *dirs], env=env, timeout=300.0)
        res.wall += stats.wall
        res.cpu += stats.cpu
        res.maxrss_kb = max(res.maxrss_kb, stats.maxrss_kb)
        if stats.returncode == 0 and (base / "config" / "live" / name / "fullchain.pem").exists():
            res.done += 1
        else:
            res.failed += 1
            if len(res.notes) < 3:
                why = stats.stderr.strip()[-600:]
                res.notes.append("certbot failed for %s (exit %d): %s" % (name, stats.returncode, why))
    res.ca_cpu = proc_cpu(peers.pebble.proc.pid) - ca0
    return res


# -- the in-process profile (--profile) ---------------------------------------------------------
# Where an order's CPU goes: (label, module, owner attribute or None, function). Each is timed by
# the CPU time of the thread that calls it (time.thread_time), summed per label; the labels nest
# (flow.run holds the posts, a post its HTTP exchange), so they do not add up to the total.
PHASES = (
    ("drive_md (one domain: plan and order)", "mdcore.manager", None, "drive_md"),
    ("  obtain (the order and its files)", "mdcore.issuance", None, "obtain"),
    ("    staging key (generate, write)", "mdcore.issuance", None, "_staging_key"),
    ("    CSR", "mdcore.issuance", None, "make_csr"),
    ("    flow.run (every request of the order)", "mdcore.acme.order", "OrderFlow", "run"),
    ("      signed POSTs (JWS, response parsing)", "mdcore.acme.transport", "AcmeTransport", "post"),
    ("        HTTP exchanges (TLS, wire)", "mdcore.acme.transport", "AcmeTransport", "_http"),
    ("    chain check and write", "mdcore.issuance", None, "_write_chain"),
    ("    order.json writes", "mdcore.store", "Store", "save_order"),
    ("    staging begun", "mdcore.store", "Store", "begin_staging"),
    ("    activation (seal, archive, link)", "mdcore.store", "Store", "activate"),
)


def _timed_phases(cpu: dict, calls: dict) -> None:
    """Wrap every PHASES function so that its callers' thread CPU time is summed per label."""
    import functools
    import importlib

    def wrapped(label: str, func):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            started = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                cpu[label] = cpu.get(label, 0.0) + time.thread_time() - started
                calls[label] = calls.get(label, 0) + 1
        return timed

    for label, module, owner, name in PHASES:
        holder = importlib.import_module(module)
        holder = getattr(holder, owner) if owner else holder
        setattr(holder, name, wrapped(label, getattr(holder, name)))


def engine_child(spec: dict) -> None:
    """Child process: issue spec['n'] certificates with drive_many in ONE process (no order
    process: its CPU would be out of sight) and print the CPU time of each order phase (PHASES)
    on stderr. No cProfile: its overhead is thread CPU time too, and would be most of the figures."""
    from mdcore.clock import Clock
    from mdcore.config import md_config_from_dict
    from mdcore.store import Store

    cpu: dict[str, float] = {}
    calls: dict[str, int] = {}
    _timed_phases(cpu, calls)
    from mdcore.manager import drive_many  # after the wrapping: drive_md is looked up at call time

    cfgs = [md_config_from_dict({"domains": [name], "key_types": ["p256"], "acme_directory": spec["directory"],
                                 "ca_bundle": spec["ca_bundle"], "agree_tos": True, "http01_mode": "standalone",
                                 "standalone_address": "127.0.0.1", "standalone_port": spec["http_port"]})
            for name in spec["names"]]
    store = Store(spec["store"], Clock()).setup()
    started, process_cpu = time.perf_counter(), time.process_time()
    with store.lock():
        store.recover()
        results = drive_many(store, cfgs, Clock(), workers=spec["workers"], processes=1)
    wall, process_cpu = time.perf_counter() - started, time.process_time() - process_cpu
    n = len(cfgs)
    print("CPU per order, by phase (thread CPU time of the threads that ran it; %d orders, %d workers):"
          % (n, spec["workers"]), file=sys.stderr)
    for label, _module, _owner, _name in PHASES:
        if label in cpu:
            print("  %7.2f ms  %5d calls  %s" % (cpu[label] * 1e3 / n, calls[label], label), file=sys.stderr)
    print("  process CPU %.1f ms per order (every thread, the http-01 listener's too), wall %.2f s"
          % (process_cpu * 1e3 / n, wall), file=sys.stderr)
    print(json.dumps({"issued": sum(1 for r in results if getattr(r, "changed", False))}))


def profile_engine(peers: Peers, n: int, workers: int, python: str) -> None:
    spec = {"names": ["p%03d-%d.bench.example" % (i, os.getpid()) for i in range(n)],
            "directory": peers.pebble.directory_url, "ca_bundle": peers.pebble.ca_bundle,
            "http_port": peers.pebble.http_port, "workers": workers,
            "store": str(peers.tmp / ("profile-store-%s-%d" % (os.path.basename(python), n)))}
    stats = run_measured([python, str(Path(__file__).resolve()), "--engine-child", json.dumps(spec)])
    print("== %s, N=%d" % (python, n))
    sys.stdout.write(stats.stderr)
    print("profiled run: %s, wall %.2f s, CPU %.2f s" % (stats.stdout.strip(), stats.wall, stats.cpu))


# -- rounds, with a fresh CA when pebble hangs ------------------------------------------------------
def with_live_ca(peers: Peers, run, notes: list[str]) -> SideResult:
    """Run one side; when it did not finish and pebble is found hung, dump it, start a fresh one
    and run the side again (twice at most)."""
    for attempt in range(3):
        res = run()
        if res.ok or attempt == 2 or not peers.hung():
            return res
        kept = peers.renew()
        note = "%s N=%d: the CA hung (pebble's goroutines in %s); run again on a fresh pebble" % (
            res.client, res.n, kept)
        notes.append(note)
        print("  " + note, flush=True)
    return res


def median_of(results: list[SideResult]) -> SideResult:
    """The round with the median wall time (its CPU and pebble CPU come along)."""
    return sorted(results, key=lambda r: r.wall)[len(results) // 2]


def report(sizes: list[int], rounds: dict, notes: list[str]) -> None:
    print()
    print("| N | client | rounds (wall s) | median wall s | certs/s | client CPU s | pebble CPU s | floor s | "
          "mod_md / this |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        sides = rounds[n]
        modmd = median_of(sides["modmd"]) if sides.get("modmd") else None
        for key, results in sides.items():
            if not results:
                continue
            med = median_of(results)
            ratio = "%.2fx" % (modmd.wall / med.wall) if modmd is not None and key != "modmd" and med.wall else ""
            issued = "" if all(r.ok for r in results) else " (not all issued: %s)" % "; ".join(
                sum((r.notes for r in results), [])[:2])
            print("| %d | %s | %s | %.2f | %.1f | %.2f | %.2f | %.2f | %s |%s" % (
                n, med.client, " ".join("%.2f" % r.wall for r in results), med.wall, med.done / med.wall,
                med.cpu, med.ca_cpu, med.floor, ratio, issued))
    load = os.getloadavg()
    print("\nfloor = (client CPU + pebble CPU) / %d cores; load average now %.1f %.1f %.1f" % (CORES, *load))
    for note in notes:
        print("note: " + note)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--n", type=int, action="append", help="certificates per round (repeatable; default 20 and 100)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per N for every side (default 3; medians)")
    ap.add_argument("--workers", type=int, default=8, help="orders the engine runs at a time (default 8)")
    ap.add_argument("--no-modmd", action="store_true", help="leave out Apache mod_md")
    ap.add_argument("--no-debian", action="store_true", help="leave out the engine under /usr/bin/python3")
    ap.add_argument("--certbot-max", type=int, default=0, help="also certbot, this many certificates per N")
    ap.add_argument("--nonce-reject", type=int, default=0,
                    help="PEBBLE_WFE_NONCEREJECT percent for every client (default 0; pebble's own default is 5)")
    ap.add_argument("--baseline", metavar="REV", help="also the engine of this git revision (e.g. main), "
                    "under each interpreter, in the same rounds")
    ap.add_argument("--profile", action="store_true", help="only profile the engine's order work (in-process)")
    ap.add_argument("--json", metavar="FILE", help="also write every round as JSON")
    ap.add_argument("--engine-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine_child:
        engine_child(json.loads(args.engine_child))
        return 0
    sizes = args.n or [20, 100]
    pythons = [("mdfleet renew, venv python %s" % platform.python_version(), sys.executable)]
    if not args.no_debian and os.path.exists(DEBIAN_PY):
        pythons.append(("mdfleet renew, Debian python3", DEBIAN_PY))
    certbot = certbot_bin() if args.certbot_max else None
    print("machine: %s, %d cores; pebble VA_NOSLEEP=1, WFE_NONCEREJECT=%d, AUTHZREUSE=0; engine workers=%d; "
          "load average %.1f %.1f %.1f" % (platform.machine(), CORES, args.nonce_reject, args.workers,
                                           *os.getloadavg()), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="mdfleet-bench-"))
    peers = Peers(args.nonce_reject, tmp / "run")
    (tmp / "run").mkdir()
    notes: list[str] = []
    rounds: dict[int, dict[str, list[SideResult]]] = {}
    try:
        peers.start()
        if args.profile:
            for n in sizes:
                for _label, python in pythons:
                    profile_engine(peers, n, args.workers, python)
            return 0
        here = install_engine(tmp / "engine", [python for _l, python in pythons])
        engines = [(label, python, here) for label, python in pythons]
        if args.baseline:
            base = install_engine(tmp / "baseline", [python for _l, python in pythons], args.baseline)
            engines += [("%s, engine of %s" % (label, args.baseline), python, base) for label, python in pythons]
        for n in sizes:
            sides: dict[str, list[SideResult]] = {label: [] for label, _p, _l in engines}
            sides["modmd"] = []
            for rep in range(args.repeat):
                for label, python, launcher in engines:
                    run_id = "%d-%d-%d" % (n, rep, [e[0] for e in engines].index(label))
                    res = with_live_ca(peers, lambda label=label, python=python, launcher=launcher, run_id=run_id,
                                       n=n: bench_engine(peers, launcher, python, label, n, args.workers, run_id),
                                       notes)
                    sides[label].append(res)
                    print("%-40s N=%d round %d: %d/%d in %.2f s, CPU %.2f s, pebble %.2f s %s" % (
                        label, n, rep + 1, res.done, n, res.wall, res.cpu, res.ca_cpu, "; ".join(res.notes)),
                        flush=True)
                if not args.no_modmd:
                    res = with_live_ca(peers, lambda rep=rep, n=n: bench_modmd(peers, n, "%d-%d" % (n, rep)), notes)
                    sides["modmd"].append(res)
                    print("%-40s N=%d round %d: %d/%d in %.2f s, CPU %.2f s, pebble %.2f s %s" % (
                        res.client, n, rep + 1, res.done, n, res.wall, res.cpu, res.ca_cpu, "; ".join(res.notes)),
                        flush=True)
            if certbot is not None:  # its rate from K certificates, its times scaled to N
                k = min(n, args.certbot_max)
                res = bench_certbot(peers, certbot, k, str(n))
                res.wall, res.cpu, res.ca_cpu = (v * n / k for v in (res.wall, res.cpu, res.ca_cpu))
                res.notes.append("%d certificates, scaled to N" % k)
                if res.ok:
                    res.n = res.done = n
                sides["certbot"] = [res]
            rounds[n] = {k: v for k, v in sides.items() if v}
        report(sizes, rounds, notes)
        if args.json:
            Path(args.json).write_text(json.dumps({str(n): {k: [r.__dict__ for r in v] for k, v in s.items()}
                                                   for n, s in rounds.items()}, indent=2, default=str))
    finally:
        peers.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(r.ok for s in rounds.values() for v in s.values() for r in v) else 1


if __name__ == "__main__":
    sys.exit(main())
