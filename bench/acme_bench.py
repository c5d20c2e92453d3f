"""Side-by-side ACME issuance benchmark: the mdfleet engine vs certbot, against one local pebble.

Not a test: it prints figures and asserts nothing about time. What it does:

* starts Debian's pebble + pebble-challtestsrv on loopback (tests/peers/), with
  PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0 and, by default, PEBBLE_WFE_NONCEREJECT=0 (pebble's
  random 5% badNonce rejection off) for BOTH clients; ``--nonce-reject 5`` keeps pebble's
  default for both;
* for every ``--n N``: issues N certificates (one name each, P-256 keys, http-01 through the
  engine's standalone listener on pebble's http port) with ``mdcore.manager.ensure_many`` and
  ``--workers`` orders at a time, in a child process, so its peak RSS and CPU seconds are its own
  (os.wait4 rusage of that child: Python start-up and imports are included, as they are for
  certbot);
* then the same N with certbot (pinned in bench/requirements-certbot.txt, in its own venv
  bench/.venv-certbot, created here when missing), one ``certbot certonly --standalone`` after
  the other with one shared config dir (so, like the engine, one account registration per run);
  wall, CPU (user+sys of every certbot process) and peak RSS (max over the processes);
* prints wall seconds, certificates/second, CPU seconds per certificate and peak RSS for both,
  the CA's (pebble's) CPU seconds for each side, and the throughput ratio ours/certbot.

Run: /work/main/.venv/bin/python bench/acme_bench.py --n 20 --n 100
Quick: ... --n 20 --certbot-max 3   (certbot's rate is then taken from 3 certificates)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

CERTBOT_VENV = BENCH / ".venv-certbot"
CERTBOT_REQS = BENCH / "requirements-certbot.txt"
CLK_TCK = os.sysconf("SC_CLK_TCK")


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
    return ProcStats(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
        proc.returncode,
        out.read().decode(errors="replace"),
        err.read().decode(errors="replace"),
    )


def proc_cpu(pid: int) -> float:
    """user+sys CPU seconds a running process (a peer: pebble) has used so far."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# -- the engine side (runs in a child process) -----------------------------------------------
def engine_child(spec: dict) -> None:
    """Child process: issue spec['n'] certificates with ensure_many; JSON summary on stdout."""
    t0 = time.monotonic()
    from mdcore.clock import Clock
    from mdcore.config import md_config_from_dict
    from mdcore.errors import MdError
    from mdcore.manager import ensure_many
    from mdcore.store import Store

    t_import = time.monotonic() - t0
    cfgs = [
        md_config_from_dict(
            {
                "domains": [name],
                "key_types": [spec["key_type"]],
                "acme_directory": spec["directory"],
                "ca_bundle": spec["ca_bundle"],
                "agree_tos": True,
                "http01_mode": "standalone",
                "standalone_address": "127.0.0.1",
                "standalone_port": spec["http_port"],
                "account_key_type": spec["key_type"] if spec["key_type"] in ("p256", "p384") else "p256",
            }
        )
        for name in spec["names"]
    ]
    store = Store(spec["store"], Clock())
    profilers: list = []
    if spec.get("profile"):
        # One cProfile per worker thread, on thread CPU time: the orders run in ensure_many's
        # thread pool, so a profile of the main thread would only show it waiting.
        import cProfile
        import functools
        from concurrent.futures import ThreadPoolExecutor

        import mdcore.manager

        def start_profiler() -> None:
            profilers.append(cProfile.Profile(time.thread_time))
            profilers[-1].enable()

        mdcore.manager.ThreadPoolExecutor = functools.partial(ThreadPoolExecutor, initializer=start_profiler)
    t1 = time.monotonic()
    results = ensure_many(store, cfgs, Clock(), workers=spec["workers"])
    t_issue = time.monotonic() - t1
    if profilers:
        import pstats

        stats = pstats.Stats(*profilers, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    errors = [str(r) for r in results if isinstance(r, MdError)]
    issued = sum(1 for r in results if not isinstance(r, MdError) and r.changed and r.certificates)
    json.dump({"issued": issued, "errors": errors[:5], "t_import": t_import, "t_issue": t_issue}, sys.stdout)


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
    def rate(self) -> float:
        return self.done / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_per_cert(self) -> float:
        return self.cpu / self.done if self.done else float("nan")


def bench_engine(peers: Peers, n: int, workers: int, key_type: str, profile: bool, run_id: str) -> SideResult:
    names = ["e%s-%03d.bench.example" % (run_id, i) for i in range(n)]
    spec = {
        "n": n,
        "names": names,
        "key_type": key_type,
        "directory": peers.pebble.directory_url,
        "ca_bundle": peers.pebble.ca_bundle,
        "http_port": peers.pebble.http_port,
        "workers": workers,
        "store": str(peers.tmp / ("store-" + run_id)),
        "profile": profile,
    }
    ca0 = proc_cpu(peers.pebble.proc.pid)
    stats = run_measured([sys.executable, str(Path(__file__).resolve()), "--engine-child", json.dumps(spec)])
    res = SideResult(
        "mdfleet (%d workers)" % workers,
        n,
        wall=stats.wall,
        cpu=stats.cpu,
        maxrss_kb=stats.maxrss_kb,
        ca_cpu=proc_cpu(peers.pebble.proc.pid) - ca0,
    )
    if profile or stats.returncode != 0:
        sys.stderr.write(stats.stderr)
    try:
        summary = json.loads(stats.stdout)
    except ValueError:
        res.failed = n
        res.notes.append("engine child failed (exit %d): %s" % (stats.returncode, stats.stderr[-2000:]))
        return res
    res.done = summary["issued"]
    res.failed = n - res.done
    res.notes.append("in-process: imports %.2f s, ensure_many %.2f s" % (summary["t_import"], summary["t_issue"]))
    res.notes += ["error: %s" % e for e in summary["errors"]]
    return res


# -- certbot -------------------------------------------------------------------------------------
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
    subprocess.run(
        [
            str(CERTBOT_VENV / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(CERTBOT_REQS),
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return exe


def bench_certbot(peers: Peers, exe: Path, n: int, limit: int, run_id: str) -> SideResult:
    base = peers.tmp / ("certbot-" + run_id)
    dirs = []
    for sub in ("config", "work", "logs"):
        (base / sub).mkdir(parents=True)
        dirs += ["--%s-dir" % sub, str(base / sub)]
    env = dict(os.environ, REQUESTS_CA_BUNDLE=peers.pebble.ca_bundle)
    res = SideResult("certbot (sequential)", n)
    ca0 = proc_cpu(peers.pebble.proc.pid)
    for i in range(min(n, limit)):
        name = "c%s-%03d.bench.example" % (run_id, i)
        stats = run_measured(
            [
                str(exe),
                "certonly",
                "--standalone",
                "--http-01-port",
                str(peers.pebble.http_port),
                "--http-01-address",
                "127.0.0.1",
                "--server",
                peers.pebble.directory_url,
                "--non-interactive",
                "--agree-tos",
                "--register-unsafely-without-email",
                "--key-type",
                "ecdsa",
                "-d",
                name,
                *dirs,
            ],
            env=env,
            timeout=300.0,
        )
        res.wall += stats.wall
        res.cpu += stats.cpu
        res.maxrss_kb = max(res.maxrss_kb, stats.maxrss_kb)
        if stats.returncode == 0 and (base / "config" / "live" / name / "fullchain.pem").exists():
            res.done += 1
        else:
            res.failed += 1
            if len(res.notes) < 3:
                res.notes.append(
                    "certbot failed for %s (exit %d): %s" % (name, stats.returncode, stats.stderr.strip()[-600:])
                )
    res.ca_cpu = proc_cpu(peers.pebble.proc.pid) - ca0
    if limit < n:
        res.notes.append("capped at %d of %d certificates (--certbot-max): rate from those" % (limit, n))
    return res


# -- peers -----------------------------------------------------------------------------------------
class Peers:
    def __init__(self, nonce_reject: int) -> None:
        from peers.challtestsrv import ChallTestSrv
        from peers.pebble import Pebble

        self.tmp = Path(tempfile.mkdtemp(prefix="mdfleet-bench-"))
        self.challtestsrv = ChallTestSrv(self.tmp / "challtestsrv")
        # PEBBLE_AUTHZREUSE=0: every name here is new, so reuse never applies; but pebble 2.4's reuse
        # lookup (FindValidAuthorization, 50% of new orders by default) deadlocks its in-memory
        # store against a concurrent AddAuthorization: seen here after a few thousand parallel
        # orders (goroutine dump: NewOrder -> makeAuthorizations on both sides), after which every
        # newOrder/newAccount hangs. Off for both clients.
        env = {
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": str(nonce_reject),
            "PEBBLE_AUTHZREUSE": "0",
        }
        self.pebble = Pebble(self.tmp / "pebble", self.challtestsrv, env=env)

    def __enter__(self) -> Peers:
        self.challtestsrv.start()
        try:
            self.pebble.start()
        except BaseException:
            self.challtestsrv.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.pebble.stop()
        self.challtestsrv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- report --------------------------------------------------------------------------------------
def table(rows: list[tuple[SideResult, SideResult | None]]) -> str:
    head = (
        "N",
        "client",
        "issued",
        "wall s",
        "certs/s",
        "CPU s/cert",
        "peak RSS MB",
        "pebble CPU s",
        "ratio",
    )
    lines = []
    for ours, theirs in rows:
        for res in (ours, theirs):
            if res is None:
                continue
            ratio = ""
            if res is ours and theirs is not None and theirs.rate > 0:
                ratio = "%.1fx" % (ours.rate / theirs.rate)
            issued = "%d/%d" % (
                res.done,
                res.n if res.client.startswith("mdfleet") else res.done + res.failed,
            )
            lines.append(
                (
                    str(res.n),
                    res.client,
                    issued,
                    "%.2f" % res.wall,
                    "%.2f" % res.rate,
                    "%.3f" % res.cpu_per_cert,
                    "%.1f" % (res.maxrss_kb / 1024),
                    "%.2f" % res.ca_cpu,
                    ratio,
                )
            )
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]

    def fmt(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + " |"

    return "\n".join([fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, lines)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--n", type=int, action="append", help="certificates per run (repeatable; default 20 and 100)")
    ap.add_argument("--workers", type=int, default=8, help="orders the engine runs at a time (default 8)")
    ap.add_argument(
        "--certbot-max",
        type=int,
        default=None,
        help="issue at most this many with certbot per N (default: all N)",
    )
    ap.add_argument("--no-certbot", action="store_true", help="the engine only")
    ap.add_argument("--key-type", default="p256", help="engine key type (default p256; certbot: ecdsa P-256)")
    ap.add_argument(
        "--nonce-reject",
        type=int,
        default=0,
        help="PEBBLE_WFE_NONCEREJECT percent for both clients (default 0; pebble's own default is 5)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="engine runs per N (each with fresh names and store)")
    ap.add_argument("--profile", action="store_true", help="cProfile the worker threads (CPU time)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--engine-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine_child:
        engine_child(json.loads(args.engine_child))
        return 0
    sizes = args.n or [20, 100]
    exe = None if args.no_certbot else certbot_bin()
    print(
        "machine: %s, %d cores, Python %s; pebble VA_NOSLEEP=1, WFE_NONCEREJECT=%d, AUTHZREUSE=0; "
        "engine workers=%d"
        % (
            platform.machine(),
            os.cpu_count() or 0,
            platform.python_version(),
            args.nonce_reject,
            args.workers,
        ),
        flush=True,
    )
    rows: list[tuple[SideResult, SideResult | None]] = []
    with Peers(args.nonce_reject) as peers:
        for n in sizes:
            for rep in range(args.repeat):
                ours = bench_engine(peers, n, args.workers, args.key_type, args.profile, "%d-%d" % (n, rep))
                print(
                    "engine   N=%d: %d issued in %.2f s (%s)" % (n, ours.done, ours.wall, "; ".join(ours.notes)),
                    flush=True,
                )
                rows.append((ours, None))
            if exe is not None:
                limit = n if args.certbot_max is None else max(1, min(n, args.certbot_max))
                theirs = bench_certbot(peers, exe, n, limit, str(n))
                print(
                    "certbot  N=%d: %d issued in %.2f s %s" % (n, theirs.done, theirs.wall, "; ".join(theirs.notes)),
                    flush=True,
                )
                rows = rows[: -args.repeat] + [(o, theirs) for o, _certbot in rows[-args.repeat :]]
    print()
    print(table(rows))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "n": o.n,
                        "ours": o.__dict__,
                        "certbot": t.__dict__ if t else None,
                    }
                    for o, t in rows
                ],
                indent=2,
                default=str,
            )
        )
    return 0 if all(o.failed == 0 and (t is None or t.failed == 0) for o, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
