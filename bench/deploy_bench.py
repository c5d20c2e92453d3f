"""The managed_domains role's first deploy of one host, and the second (unchanged) run.

Not a test: it prints figures (target of issue 13: first deploy at most 15 s on this machine,
second run unchanged). What one round does, per collection revision (``--rev``, default the
working tree; give the old one too to compare in the same run):

* a fresh host: this machine over Ansible's local connection, every path of the role under a
  folder of its own (store, challenges, config, engine, mdfleet command), an nginx of its own
  (prefix, pid, logs) on 127.0.0.1:80/443, no systemd units (`managed_domains_systemd: false`);
* `ansible-playbook playbooks/deploy.yml` from the collection at that revision (`git archive`),
  timed from start to exit: the first deploy (engine, config, glue, first certificate from
  pebble, staple from pebble's OCSP responder), then the same again (must change nothing);
* a timer run's start-up on that host: `mdfleet check-config` (imports and config) and an idle
  `mdfleet drive`, each with `python3 -B` (the hardened unit's ProtectSystem=strict cannot write
  .pyc files), median of --startup-runs, wall clock.

Everything runs in a private network namespace with only `lo` (the script re-runs itself under
`unshare -n`): pebble, challtestsrv and the OCSP responder (python3 -m peers.stack), nginx and the
engine see nothing else. Needs root (the namespace, nginx on port 80/443).

Run: /work/venv/bin/python bench/deploy_bench.py --rev 49c618d --rev . [--rounds 3] [--json FILE]
     (--rev: any git revision of this repository; '.' is the working tree)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST_PY = "/usr/bin/python3"  # the host's python, as on a Debian 12 web server
NAME = "www.bench.mdfleet.test"
NETNS_MARK = "MDFLEET_DEPLOY_BENCH_NETNS"
SLOWEST = 8  # tasks printed per deploy (--json has them all)


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


def checked(argv: list[str], **kw) -> subprocess.CompletedProcess:
    proc = run(argv, **kw)
    if proc.returncode != 0:
        raise SystemExit("deploy_bench: %s failed (%d):\n%s%s"
                         % (argv[0], proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def export_collection(rev: str, work: Path) -> tuple[Path, str]:
    """The collection at ``rev`` ('.' = the working tree) in an ansible_collections tree; returns
    (the collections path, a label with the commit)."""
    base = work / ("rev-" + rev.replace("/", "_").replace(".", "worktree"))
    coll = base / "ansible_collections" / "mdfleet" / "md"
    coll.parent.mkdir(parents=True)
    if rev == ".":
        coll.symlink_to(ROOT)
        head = checked(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).stdout.strip()
        dirty = run(["git", "-C", str(ROOT), "status", "--porcelain"]).stdout.strip()
        return base, "worktree (%s%s)" % (head, " + changes" if dirty else "")
    coll.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", rev], stdout=subprocess.PIPE)
    checked(["tar", "-x", "-C", str(coll)], stdin=archive.stdout)
    if archive.wait() != 0:
        raise SystemExit("deploy_bench: git archive %s failed" % rev)
    return base, checked(["git", "-C", str(ROOT), "rev-parse", "--short", rev]).stdout.strip()


def nginx_argv(prefix: Path) -> list[str]:
    return ["/usr/sbin/nginx", "-p", "%s/" % prefix, "-c", str(prefix / "nginx.conf")]


def start_nginx(prefix: Path) -> list[str]:
    (prefix / "conf.d").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(
        "pid %s/nginx.pid;\nerror_log %s/error.log notice;\nuser root;\nevents { worker_connections 64; }\n"
        "http {\n    access_log %s/access.log;\n    default_type application/octet-stream;\n"
        "    include %s/conf.d/*.conf;\n}\n" % (prefix, prefix, prefix, prefix))
    argv = nginx_argv(prefix)
    checked(argv)
    return argv


def inventory(host: Path, stack: dict, nginx: list[str]) -> dict:
    return {"webservers": {"hosts": {"bench": {"ansible_connection": "local", "ansible_python_interpreter": HOST_PY}},
                           "vars": {
        "managed_domains_store": str(host / "store"),
        "managed_domains_challenges_dir": str(host / "challenges"),
        "managed_domains_config_file": str(host / "etc" / "config.json"),
        "managed_domains_lib_dir": str(host / "lib"),
        "managed_domains_bin": str(host / "bin" / "mdfleet"),
        "managed_domains_systemd": False,
        "managed_domains_webserver_install": False,
        "managed_domains_webserver_service": "",
        "managed_domains_webserver_test_command": nginx + ["-t", "-q"],
        "managed_domains_webserver_reload_command": nginx + ["-s", "reload"],
        "managed_domains_nginx_conf_dir": str(host / "nginx" / "conf.d"),
        "managed_domains_nginx_dir": str(host / "nginx" / "mdfleet"),
        "managed_domains_listen_addresses": ["127.0.0.1"],
        "managed_domains_defaults": {"acme_directory": stack["directory_url"], "ca_bundle": stack["ca_bundle"],
                                     "agree_tos": True, "contact": ["mailto:hostmaster@bench.mdfleet.test"]},
        "managed_domains_domains": [{"domains": [NAME], "site": {"root": str(host / "www")}}],
    }}}


def playbook(collections: Path, inv: Path, log: Path, pipelining: bool) -> dict:
    """One ansible-playbook run of deploy.yml: wall seconds, the recap, tasks and module runs, and
    every task's time (slowest first)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_PIPELINING="1" if pipelining else "0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inv), "mdfleet.md.deploy",
                "-e", "deploy_become=false"], env=env, cwd=str(inv.parent))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # ansible-playbook, its forks and the modules they ran
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.write_text(proc.stdout + proc.stderr)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("deploy_bench: ansible-playbook printed no JSON (rc %d), see %s"
                         % (proc.returncode, log)) from None
    stats = doc["stats"]["bench"]
    if proc.returncode != 0 or stats.get("failures") or stats.get("unreachable"):
        raise SystemExit("deploy_bench: the deploy failed (rc %d), see %s" % (proc.returncode, log))
    tasks, runs, slow = 0, 0, []
    for play in doc["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get("bench")
            if res is None or res.get("skipped"):
                continue
            items = [r for r in res.get("results", []) if not r.get("skipped")]
            tasks += 1
            runs += len(items) if "results" in res else 1
            span = task["task"]["duration"]
            slow.append((seconds(span["end"]) - seconds(span["start"]), task["task"]["name"], len(items)))
    slow.sort(reverse=True)
    return {"wall": wall, "cpu": cpu, "changed": stats["changed"], "ok": stats["ok"], "tasks": tasks,
            "module_runs": runs, "slowest": [{"seconds": round(s, 2), "task": n, "items": i} for s, n, i in slow]}


def seconds(stamp: str) -> float:
    import datetime

    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def startup(host: Path, runs: int) -> dict:
    """A timer run's start-up on the deployed host, without writing .pyc (python3 -B), as deployed
    and, where the deploy left .pyc files beside the engine's sources, without them (a host where
    nothing compiled the engine, or where a new engine's files are newer than their .pyc)."""
    config = str(host / "etc" / "config.json")
    out = {}

    def timed(what: str) -> tuple[float, float]:
        """Median wall and CPU (user + sys, the process's own rusage) seconds."""
        walls, cpus = [], []
        for _run in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            checked([HOST_PY, "-I", "-B", str(host / "bin" / "mdfleet"), "--config", config, what])
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return statistics.median(walls), statistics.median(cpus)

    for what in ("check-config", "drive"):
        out[what], out[what + "-cpu"] = timed(what)
    caches = list((host / "lib").rglob("__pycache__"))
    if caches:
        for cache in caches:
            shutil.rmtree(cache)
        out["check-config-cold"], out["check-config-cold-cpu"] = timed("check-config")
    return out


def one_round(label: str, collections: Path, work: Path, stack: dict, args: argparse.Namespace) -> dict:
    host = work / ("host-%d" % len(list(work.glob("host-*"))))
    (host / "www").mkdir(parents=True)
    (host / "bin").mkdir()  # like /usr/local/bin, it exists before the role runs
    (host / "www" / "index.html").write_text("bench\n")
    nginx = start_nginx(host / "nginx")
    try:
        inv = host / "inventory.json"
        inv.write_text(json.dumps(inventory(host, stack, nginx), indent=2))
        first = playbook(collections, inv, host / "deploy-1.log", args.pipelining)
        second = playbook(collections, inv, host / "deploy-2.log", args.pipelining)
        return {"rev": label, "first": first, "second": second, "startup": startup(host, args.startup_runs)}
    finally:
        run(nginx + ["-s", "quit"])


def in_namespace(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped bench still stops its peers
    checked(["ip", "link", "set", "lo", "up"])
    links = checked(["ip", "-o", "link"]).stdout.strip().splitlines()
    if len(links) != 1 or ": lo:" not in links[0]:
        raise SystemExit("deploy_bench: not in a private network namespace: %s" % links)
    work = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    acme = work / "acme"
    checked([sys.executable, "-m", "peers.stack", "start", "--dir", str(acme), "--http-port", "80", "--ocsp",
             "builtin", "--ttl", "3600"], cwd=str(ROOT / "tests"))
    results = []
    try:
        stack = json.loads((acme / "stack.json").read_text())
        revs = [(rev,) + export_collection(rev, work) for rev in args.rev]
        for number in range(args.rounds):
            for _rev, collections, label in revs:  # interleaved: a busy moment hits every revision alike
                res = one_round(label, collections, work, stack, args)
                res["round"] = number + 1
                res["pipelining"] = args.pipelining
                results.append(res)
                print_round(res)
    finally:
        run([sys.executable, "-m", "peers.stack", "stop", "--dir", str(acme)], cwd=str(ROOT / "tests"))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept: %s" % work)
    summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_round(res: dict) -> None:
    f, s, up = res["first"], res["second"], res["startup"]
    figures = (res["round"], res["rev"], f["wall"], f["cpu"], f["tasks"], f["module_runs"], f["changed"], s["wall"],
               s["cpu"], s["changed"], " ".join("%.1f" % x for x in os.getloadavg()))
    print("round %d %-28s first %5.2f s (CPU %.2f s; %d tasks, %d module runs, changed %d)  second %5.2f s (CPU %.2f s;"
          " changed %d)  load %s" % figures, flush=True)
    print("        start-up: check-config %.3f s (CPU %.3f s), idle drive %.3f s (CPU %.3f s)" % (
        up["check-config"], up["check-config-cpu"], up["drive"], up["drive-cpu"]), flush=True)
    if "check-config-cold" in up:
        print("        without the .pyc files the deploy left beside the sources: check-config %.3f s (CPU %.3f s)"
              % (up["check-config-cold"], up["check-config-cold-cpu"]), flush=True)
    for part, run_ in (("first deploy", f), ("second run", s)):
        print("        slowest tasks of the %s: %s" % (part, "; ".join(
            "%s %.2f s%s" % (t["task"], t["seconds"], " (%d items)" % t["items"] if t["items"] else "")
            for t in run_["slowest"][:SLOWEST])), flush=True)


def summary(results: list[dict]) -> None:
    print("\nmedians over %d round(s) (best wall in brackets); ANSIBLE_PIPELINING=%d; %s, %d cores, load average %s" % (
        max(r["round"] for r in results), results[0]["pipelining"], platform.python_version(), os.cpu_count(),
        " ".join("%.1f" % x for x in os.getloadavg())))
    print("| revision | first deploy s | CPU s | tasks / module runs | second run s | CPU s | changed (2nd) "
          "| check-config s (CPU) | idle drive s (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in dict.fromkeys(r["rev"] for r in results):
        mine = [r for r in results if r["rev"] == label]
        print("| %s | %.2f (%.2f) | %.2f | %d / %d | %.2f (%.2f) | %.2f | %d | %.3f (%.3f) | %.3f (%.3f) |" % (
            label, median(mine, "first", "wall"), min(r["first"]["wall"] for r in mine), median(mine, "first", "cpu"),
            mine[0]["first"]["tasks"], mine[0]["first"]["module_runs"], median(mine, "second", "wall"),
            min(r["second"]["wall"] for r in mine), median(mine, "second", "cpu"),
            max(r["second"]["changed"] for r in mine), median(mine, "startup", "check-config"),
            median(mine, "startup", "check-config-cpu"), median(mine, "startup", "drive"),
            median(mine, "startup", "drive-cpu")))
        cold = [r for r in mine if "check-config-cold" in r["startup"]]
        if cold:
            print("| %s without its .pyc files | | | | | | | %.3f (%.3f) | |" % (
                label, median(cold, "startup", "check-config-cold"), median(cold, "startup", "check-config-cold-cpu")))


def median(rounds: list[dict], part: str, figure: str) -> float:
    return statistics.median(r[part][figure] for r in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", help="collection revision to deploy ('.' = working tree; "
                        "repeat to compare; default '.')")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--pipelining", action="store_true", help="ANSIBLE_PIPELINING=1 (as the fleet tests run)")
    parser.add_argument("--json", help="write every round's figures to this file (with every task's time)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, hosts)")
    args = parser.parse_args()
    args.rev = args.rev or ["."]
    if os.environ.get(NETNS_MARK):
        return in_namespace(args)
    if os.geteuid() != 0:
        raise SystemExit("deploy_bench: run as root (a private network namespace, nginx on port 80/443)")
    return subprocess.call(["unshare", "--net", "env", NETNS_MARK + "=1", sys.executable, *sys.argv])


if __name__ == "__main__":
    sys.exit(main())
