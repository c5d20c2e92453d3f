"""Idle runs of the host engine: `mdfleet drive` with nothing due, `status --json` / `--prometheus`.

Not a test: it prints figures (issue 13 targets on this machine: idle drive of 1,000 managed domains
with stapling on at most 0.3 s wall, 20 domains at most 0.1 s, status of 1,000 at most 0.3 s). What
one size does:

* a store built for real: one local pebble + challtestsrv + OCSP responder (tests/peers/stack.py,
  127.0.0.1 only), N managed domains of one name each (P-256, http-01 through the engine's standalone
  listener), issued by one `mdfleet renew`, then one `mdfleet drive` that fetches every staple, so
  the next drives find nothing due;
* timed, each as its own process the way the systemd timer starts it (`python3 -m mdcore`, Debian's
  /usr/bin/python3 and the venv's; `-B` since the hardened unit cannot write .pyc files, but with
  the .pyc files the role's install compiles): an idle `drive` (after a quiet one: answered from
  the quiet memo, mdcore/quiet.py, as the timer's runs are while nothing changes), the same drive
  as a full run (MDFLEET_NO_QUIET=1: what the run after a change, or the full check every 12 hours,
  costs), `status --json`, `status --prometheus` (after that quiet drive: answered from the same
  memo) and `status --json` built (MDFLEET_NO_QUIET=1); median and best of --runs, wall and CPU
  (the child's rusage); whether the idle drive and the status were indeed answered by the memo;
* the breakdown of one idle full run inside one process: imports (the CLI module and what the run
  imports on its way), config, recover, retire check, plan (the ACME step), staple book, status
  files (and in them the status memo's read and write), and the rest.

With ``--compare REV`` (once or more) the engine of that git revision (``git archive``) is timed
too, on the same store in the same run (its runs first, each engine after one warm-up drive that
writes the status files its way): before and after under the same load. The breakdown gives wall
and CPU milliseconds (process_time: on a machine shared with other work the steadier figure).

``--instructions`` also runs each timed command of Debian's python3 once under valgrind's callgrind
and prints its instructions (millions): a figure that other work on the machine does not change
(system calls are not in it).

Run: /work/venv/bin/python bench/idle_bench.py [--n 20 --n 1000] [--runs 5] [--compare REV ...] [--instructions]
     [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
ENGINE = ROOT / "plugins" / "module_utils"
TESTS = ROOT / "tests"
DEBIAN_PYTHON = "/usr/bin/python3"
TARGETS = {"drive": {20: 0.1, 1000: 0.3}, "status --json": {1000: 0.3}, "status --prometheus": {1000: 0.3}}

# Runs one idle drive in this process with timing probes around the steps of mdcore.cli.run.
PROBE = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import mdcore.cli as cli
t_import, c_import = time.perf_counter() - t0, time.process_time() - c0
spans, cpu = {}, {}
def probe(owner, name, label):
    inner = getattr(owner, name)
    def timed(*args, **kwargs):
        start, cstart = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spans[label] = spans.get(label, 0.0) + time.perf_counter() - start
            cpu[label] = cpu.get(label, 0.0) + time.process_time() - cstart
    setattr(owner, name, timed)
probe(cli, "load_host_config", "config")
probe(cli.Store, "recover", "recover")
probe(cli, "retire_unconfigured", "retire check")
probe(cli, "_acme", "plan (acme step)")
probe(cli, "_staple", "staple book")
probe(cli, "_status", "status files")
if hasattr(cli, "StatusMemo"):  # the status memo (read, written): part of "status files"
    probe(cli.StatusMemo, "load", "  of which memo read")
    probe(cli.StatusMemo, "save", "  of which memo write")
mods = len(sys.modules)
t1, c1 = time.perf_counter(), time.process_time()
rc = cli.main(["--config", sys.argv[1], "drive"], out=open("/dev/null", "w"))
total, ctotal = time.perf_counter() - t1, time.process_time() - c1
inner = [k for k in spans if k.startswith("  ")]
spans["rest of the run"] = total - sum(v for k, v in spans.items() if k not in inner)
cpu["rest of the run"] = ctotal - sum(v for k, v in cpu.items() if k not in inner)
spans["imports (mdcore.cli)"], cpu["imports (mdcore.cli)"] = t_import, c_import
print(json.dumps({"rc": rc, "spans": spans, "cpu": cpu, "modules_before_run": mods,
                  "modules_after_run": len(sys.modules)}))
"""


def pythons() -> list[tuple[str, str]]:
    found = [("venv", sys.executable)]
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(DEBIAN_PYTHON) != os.path.realpath(sys.executable):
        found.append(("debian", DEBIAN_PYTHON))
    return found


def engine(python: str, *args: str, check: bool = True, utils: Path = ENGINE) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(utils))
    proc = subprocess.run([python, "-m", "mdcore", *args], env=env, capture_output=True, text=True, timeout=3600,
                          check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout)[-2000:]
        raise SystemExit("idle_bench: mdfleet %s failed (rc %d): %s" % (" ".join(args), proc.returncode, detail))
    return proc


def timed(python: str, argv: list[str], runs: int, utils: Path = ENGINE, extra_env: dict | None = None) -> dict:
    """Median and best wall / CPU seconds of `python -B -m mdcore ARGV`, each run a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(utils), **(extra_env or {}))
    walls, cpus, loads = [], [], []
    for _run in range(runs):
        loads.append(os.getloadavg()[0])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([python, "-B", "-m", "mdcore", *argv], env=env, capture_output=True, timeout=600,
                              check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            detail = proc.stderr.decode()[-2000:]
            raise SystemExit("idle_bench: %s failed (rc %d): %s" % (" ".join(argv), proc.returncode, detail))
    return {"wall": statistics.median(walls), "best": min(walls), "cpu": statistics.median(cpus),
            "best_cpu": min(cpus), "load": statistics.median(loads)}


def replayed(python: str, config: Path, utils: Path, command: tuple[str, ...] = ("drive",)) -> bool:
    """Whether an idle `drive` (or ``command``) is answered from the quiet memo (mdcore/quiet.py):
    it never imports the CLI (an engine older than the memo always makes the run)."""
    env = dict(os.environ, PYTHONPATH=str(utils))
    env.pop("MDFLEET_NO_QUIET", None)
    proc = subprocess.run([python, "-B", "-X", "importtime", "-m", "mdcore", "--config", str(config), *command],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    return not any(line.startswith("import time:") and line.split("|")[-1].strip() == "mdcore.cli"
                   for line in proc.stderr.splitlines())


def instructions(python: str, argv: list[str], utils: Path = ENGINE) -> float:
    """Millions of instructions of one `python -B -m mdcore ARGV` under valgrind's callgrind: the
    same on a busy machine as on a quiet one (the kernel's part, system calls, is not counted)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("idle_bench: --instructions needs valgrind (Debian: apt-get install valgrind)")
    env = dict(os.environ, PYTHONPATH=str(utils))
    proc = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-B", "-m",
                           "mdcore", *argv], env=env, capture_output=True, text=True, timeout=3600, check=False)
    found = [line for line in proc.stderr.splitlines() if "Collected :" in line]
    if proc.returncode != 0 or not found:
        detail = proc.stderr[-2000:]
        raise SystemExit("idle_bench: callgrind of %s failed (rc %d): %s" % (" ".join(argv), proc.returncode, detail))
    return int(found[-1].split(":")[-1].replace(",", "").strip()) / 1e6


def breakdown(python: str, config: Path, utils: Path = ENGINE) -> dict:
    env = dict(os.environ, PYTHONPATH=str(utils))
    proc = subprocess.run([python, "-B", "-c", PROBE, str(config)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit("idle_bench: the probed drive failed: %s" % proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_config(work: Path, stack: dict, n: int, http_port: int) -> Path:
    doc = {
        "store": str(work / "store"),
        "challenges_dir": str(work / "challenges"),
        "workers": 8,
        "defaults": {"acme_directory": stack["directory_url"], "ca_bundle": stack["ca_bundle"], "agree_tos": True,
                     "contact": ["mailto:hostmaster@idle.mdfleet.test"], "key_types": ["p256"],
                     "http01_mode": "standalone", "standalone_address": "127.0.0.1", "standalone_port": http_port},
        "domains": [{"name": "d%04d" % i, "domains": ["d%04d.idle.mdfleet.test" % i]} for i in range(n)],
        "stapling": {"enabled": True},
    }
    path = work / "config.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def compile_engine(python: str, utils: Path = ENGINE) -> None:
    """What the role's install does on hosts: the engine's .pyc files exist beside it."""
    subprocess.run([python, "-m", "compileall", "-q", str(utils / "mdcore")], check=True, capture_output=True)


def engine_of(rev: str, base: Path) -> Path:
    """plugins/module_utils of git revision ``rev``, extracted under ``base``."""
    target = base / ("rev-" + rev.replace("/", "_"))
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "plugins/module_utils"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True, capture_output=True)
    return target / "plugins" / "module_utils"


def one_size(n: int, base: Path, runs: int, engines: list[tuple[str, Path]], counted: bool = False) -> dict:
    work = base / ("n%d" % n)
    acme = work / "acme"
    acme.mkdir(parents=True)
    from peers.ports import free_port

    http_port = free_port()
    subprocess.run([sys.executable, "-m", "peers.stack", "start", "--dir", str(acme), "--http-port", str(http_port),
                    "--ocsp", "builtin", "--ttl", "7200"], cwd=str(TESTS), check=True, capture_output=True)
    try:
        stack = json.loads((acme / "stack.json").read_text())
        config = write_config(work, stack, n, http_port)
        start = time.perf_counter()
        engine(sys.executable, "--config", str(config), "renew")
        issued = time.perf_counter() - start
        engine(sys.executable, "--config", str(config), "drive")  # fetches the staples the renewal left
        figures: dict = {"n": n, "issue_seconds": issued, "runs": {}}
        for name, utils in engines:
            for label, python in pythons():
                label = ("%s %s" % (name, label)).strip()
                compile_engine(python, utils)
                engine(python, "--config", str(config), "drive", utils=utils)  # this engine, this python: nothing due
                engine(python, "--config", str(config), "drive", utils=utils)  # a quiet one: the quiet memo is made
                figures["replayed " + label] = replayed(python, config, utils)
                figures["replayed status " + label] = replayed(python, config, utils, ("status", "--json"))
                for what, argv, env in (("drive, full run", ["drive"], {"MDFLEET_NO_QUIET": "1"}),
                                        ("drive", ["drive"], None),
                                        ("status --json", ["status", "--json"], None),
                                        ("status --prometheus", ["status", "--prometheus"], None),
                                        ("status --json, built", ["status", "--json"], {"MDFLEET_NO_QUIET": "1"})):
                    row = timed(python, ["--config", str(config), *argv], runs, utils, env)
                    if counted and label.endswith("debian"):
                        row["minstr"] = instructions(python, ["--config", str(config), *argv], utils)
                    figures["runs"]["%s %s" % (label, what)] = row
                figures["breakdown " + label] = breakdown(python, config, utils)
        return figures
    finally:
        subprocess.run([sys.executable, "-m", "peers.stack", "stop", "--dir", str(acme)], cwd=str(TESTS),
                       capture_output=True, check=False)


def target_of(what: str, n: int) -> str:
    limit = next((TARGETS[key].get(n) for key in TARGETS if what.endswith(" " + key)), None)
    return "<= %.1f" % limit if limit else "-"


def print_size(fig: dict) -> None:
    n = fig["n"]
    print("\n%d managed domains (issued in %.1f s by one `mdfleet renew`)" % (n, fig["issue_seconds"]))
    counted = any(r.get("minstr") for r in fig["runs"].values())
    print("| run | median wall s | best s | median CPU s | best CPU s | load (1 min) | target s%s |"
          % (" | M instructions" if counted else ""))
    print("|---|---|---|---|---|---|---%s|" % ("|---" if counted else ""))
    for what, row in fig["runs"].items():
        cells = (what, row["wall"], row["best"], row["cpu"], row.get("best_cpu", row["cpu"]), row.get("load", 0.0),
                 target_of(what, n))
        counted = " | %.0f" % row["minstr"] if row.get("minstr") else (" | -" if any(
            r.get("minstr") for r in fig["runs"].values()) else "")
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.1f | %s%s |" % (cells + (counted,)))
    for key in sorted(k for k in fig if k.startswith("replayed ")):
        shown = key.replace("replayed status", "status --json answered by the quiet memo,") \
            if key.startswith("replayed status ") else key.replace("replayed", "idle drive answered by the quiet memo,")
        print("%s: %s" % (shown, "yes" if fig[key] else "no"))
    for key in sorted(k for k in fig if k.startswith("breakdown ")):
        probe = fig[key]
        parts = sorted((kv for kv in probe["spans"].items() if not kv[0].startswith("  ")), key=lambda kv: -kv[1])
        inner = [kv for kv in probe["spans"].items() if kv[0].startswith("  ")]  # the memo, inside status files
        at = next((i + 1 for i, kv in enumerate(parts) if kv[0] == "status files"), len(parts))
        parts[at:at] = inner
        cpu = probe.get("cpu", {})
        print("%s (one idle full run in one process, %d modules loaded by the CLI, %d after the run; wall ms "
              "(CPU ms)): %s" % (key, probe["modules_before_run"], probe["modules_after_run"],
                                 ", ".join("%s %.0f (%.0f)" % (name, s * 1000, cpu.get(name, 0.0) * 1000)
                                           for name, s in parts)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="managed domains (default: 20 and 1000)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each Debian python3 run's instructions once under valgrind (callgrind): "
                             "figures a busy machine does not change (slow: a minute per run of 1,000 domains)")
    parser.add_argument("--compare", metavar="REV", action="append",
                        help="time the engine of this git revision too (before/after; may be given more than once)")
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    base = Path(tempfile.mkdtemp(prefix="idle-bench-"))
    try:
        engines = [("", ENGINE)]
        if args.compare:
            engines = [(rev, engine_of(rev, base)) for rev in args.compare] + [("this", ENGINE)]
        results = [one_size(n, base, args.runs, engines, args.instructions) for n in (args.n or [20, 1000])]
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("idle_bench: %s, Python %s (venv) and %s, %d cores, load average %s"
          % (platform.machine(), platform.python_version(), DEBIAN_PYTHON, os.cpu_count() or 0,
             " ".join("%.1f" % x for x in os.getloadavg())))
    for fig in results:
        print_size(fig)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
