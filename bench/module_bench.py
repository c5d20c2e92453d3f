"""Ansible per-host cost of the modules against community.crypto's for the same job (issue 13 item 3):
20 local hosts, each with one certificate issued from a local pebble, then in the same run, idle:

* ``mdfleet.md.acme_md_order`` (nothing due) against ``community.crypto.acme_certificate`` (the same
  certificate file as ``dest``, ``remaining_days`` not reached: it reads the file and exits);
* ``mdfleet.md.md_status`` (the host's store) against ``community.crypto.x509_certificate_info``
  (the same certificate file).

Not a test: it prints figures and asserts nothing about time. Each play is one task over the 20 hosts
(``ansible_connection=local``, Debian's /usr/bin/python3 as on hosts, pipelining on, the json callback),
at ``--forks`` 5 and 20, ``--rounds`` times; the figure per module is the median of the task's wall time
(from its first host's start to its last host's end, as the json callback records it) times min(forks,
hosts) / hosts: the seconds one host's task costs a fork; beside it the CPU seconds of the whole run
(ansible-playbook, its forks, the module processes) per host, steadier than wall on a shared machine.
Then the module's AnsiballZ payload size (ANSIBLE_KEEP_REMOTE_FILES) and, from one run of that payload
under ``python3 -X importtime``, the modules it imports and their import seconds. With ``--baseline
REV`` our two modules also run from git revision REV's collection (``git archive``), in the same rounds,
on the same hosts and certificates: before and after in one run.

Run: /work/venv/bin/python bench/module_bench.py [--hosts 20] [--forks 5 --forks 20] [--rounds 3]
     [--baseline main]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (ROOT / "tests", ROOT / "plugins" / "module_utils"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from peers.challtestsrv import ChallTestSrv  # noqa: E402
from peers.pebble import Pebble  # noqa: E402

HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
DOMAIN = "module.bench.test"
# (label, ours, peer): each pair does the same job on the same certificate
PAIRS = (("idle order", "mdfleet.md.acme_md_order", "community.crypto.acme_certificate"),
         ("status", "mdfleet.md.md_status", "community.crypto.x509_certificate_info"))


def host_vars(work: Path, index: int) -> dict:
    name = "h%02d" % index
    folder = work / "hosts" / name
    return {"ansible_connection": "local", "ansible_python_interpreter": HOST_PYTHON,
            "bench_md": "%s.%s" % (name, DOMAIN), "bench_store": str(folder / "store"),
            "bench_challenges": str(folder / "challenges"), "bench_account_key": str(folder / "account.key"),
            "bench_csr": str(folder / "req.csr"),
            "bench_cert": str(folder / "store" / "domains" / ("%s.%s" % (name, DOMAIN)) / "p256" / "cert.pem")}


def write_inventory(work: Path, count: int, pebble: Pebble) -> Path:
    hosts = {}
    for i in range(1, count + 1):
        hosts["h%02d" % i] = host_vars(work, i)
        folder = work / "hosts" / ("h%02d" % i)
        folder.mkdir(parents=True)
        _write_peer_inputs(folder, hosts["h%02d" % i]["bench_md"])
    shared = {"bench_directory": pebble.directory_url, "bench_ca_bundle": pebble.ca_bundle,
              "bench_http_port": pebble.http_port}
    inv = {"bench": {"hosts": hosts, "vars": shared}}
    path = work / "hosts.json"
    path.write_text(json.dumps(inv))
    return path


def _write_peer_inputs(folder: Path, name: str) -> None:
    """acme_certificate's inputs: an account key and a CSR (never used while the certificate is good)."""
    key = ec.generate_private_key(ec.SECP256R1())
    fd = os.open(folder / "account.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
           .sign(key, hashes.SHA256()))
    (folder / "req.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))


TASKS = {
    "mdfleet.md.acme_md_order": {"name": "{{ bench_md }}", "domains": ["{{ bench_md }}"],
                                 "store": "{{ bench_store }}", "challenges_dir": "{{ bench_challenges }}",
                                 "acme_directory": "{{ bench_directory }}", "ca_bundle": "{{ bench_ca_bundle }}",
                                 "agree_tos": True, "key_types": ["p256"], "http01_mode": "standalone",
                                 "standalone_address": "127.0.0.1", "standalone_port": "{{ bench_http_port }}"},
    "community.crypto.acme_certificate": {"account_key_src": "{{ bench_account_key }}", "csr": "{{ bench_csr }}",
                                          "dest": "{{ bench_cert }}", "acme_directory": "{{ bench_directory }}",
                                          "acme_version": 2, "terms_agreed": True, "remaining_days": 10,
                                          "validate_certs": False},
    "mdfleet.md.md_status": {"store": "{{ bench_store }}"},
    "community.crypto.x509_certificate_info": {"path": "{{ bench_cert }}"},
}


def write_play(work: Path, module: str) -> Path:
    path = work / ("play-%s.yml" % module.replace(".", "-"))
    play = [{"name": module, "hosts": "bench", "gather_facts": False,
             "tasks": [{"name": "run", module: TASKS[module]}]}]
    path.write_text(json.dumps(play))
    return path


def ansible_env(collections: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (collections, _venv_collections()),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_PIPELINING="1", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_HOST_KEY_CHECKING="false")
    env.update(extra or {})
    return env


def _venv_collections() -> str:
    """Where the `ansible` package keeps community.crypto and ansible.posix (this interpreter's)."""
    import ansible_collections  # noqa: PLC0415 - the installed ansible package's collections

    return str(Path(ansible_collections.__path__[0]).parent)


def collection_of(work: Path, rev: str | None) -> Path:
    """A collections folder holding mdfleet.md: this checkout (a link), or git revision ``rev``."""
    collections = work / ("collections-" + (rev or "tree").replace("/", "_"))
    folder = collections / "ansible_collections" / "mdfleet"
    folder.mkdir(parents=True)
    if rev is None:
        (folder / "md").symlink_to(ROOT)
        return collections
    (folder / "md").mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder / "md")], input=archive, check=True)
    return collections


def run_play(collections: Path, inv: Path, play: Path, forks: int, extra_env: dict | None = None,
             limit: str | None = None) -> dict:
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inv), str(play), "-f", str(forks)]
    if limit:
        argv += ["--limit", limit]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, env=ansible_env(collections, extra_env), capture_output=True, text=True,
                          timeout=1800, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("%s failed (rc %d):\n%s\n%s" % (play.name, proc.returncode, proc.stdout[-3000:],
                                                         proc.stderr[-2000:]))
    doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    # CPU of the whole run: ansible-playbook, its forks and the module processes (steadier than wall
    # on a shared machine; the run's fixed costs, such as building the payload once, included)
    doc["bench_cpu_s"] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return doc


def task_wall(doc: dict) -> float:
    span = doc["plays"][0]["tasks"][0]["task"]["duration"]
    start, end = (datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("start", "end"))
    return (end - start).total_seconds()


def at(rev: str | None) -> str:
    return "" if rev is None else "@" + rev


def payload_figures(collections: Path, inv: Path, play: Path, work: Path) -> tuple[int, int, float]:
    """(AnsiballZ bytes, modules imported, import seconds) of one host's run of the module."""
    remote = Path(tempfile.mkdtemp(prefix="remote-" + play.stem, dir=work))
    run_play(collections, inv, play, 1, {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "0",
                                         "ANSIBLE_REMOTE_TMP": str(remote)}, limit="h01")
    found = glob.glob(str(remote / "**" / "AnsiballZ_*.py"), recursive=True)
    if not found:
        return 0, 0, 0.0
    payload = Path(found[0])
    proc = subprocess.run([HOST_PYTHON, "-X", "importtime", str(payload)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=str(payload.parent))
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    self_us = 0
    for line in lines[1:]:  # the first is the header
        try:
            self_us += int(line.split(":", 1)[1].split("|")[0])
        except ValueError:
            continue
    return payload.stat().st_size, max(0, len(lines) - 1), self_us / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--forks", type=int, action="append", help="forks per run (repeatable; default 5 and 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--baseline", metavar="REV",
                    help="also our modules of this git revision (e.g. main), in the same rounds")
    args = ap.parse_args()
    forks_list = args.forks or [5, 20]
    work = Path(tempfile.mkdtemp(prefix="mdfleet-module-bench-"))
    os.chmod(work, 0o755)
    trees = {None: collection_of(work, None)}
    if args.baseline:
        trees[args.baseline] = collection_of(work, args.baseline)
    cts = ChallTestSrv(work / "challtestsrv").start()
    pebble = Pebble(work / "pebble", cts, env={"PEBBLE_AUTHZREUSE": "0"}).start()
    figures: dict = {"hosts": args.hosts, "python": HOST_PYTHON, "baseline": args.baseline, "modules": {}}
    try:
        inv = write_inventory(work, args.hosts, pebble)
        plays = {module: write_play(work, module) for module in TASKS}
        # (figure key, collections, play): our modules from each tree, the peers once
        runs = [(module + at(rev), trees[rev], play) for module, play in plays.items()
                for rev in (trees if module.startswith("mdfleet.") else (None,))]
        # not timed: the certificates (one standalone listener at a time on pebble's http port)
        run_play(trees[None], inv, plays["mdfleet.md.acme_md_order"], 1)
        for key, collections, play in runs:
            size, imported, import_s = payload_figures(collections, inv, play, work)
            figures["modules"][key] = {"payload_bytes": size, "imported_modules": imported,
                                       "import_s": round(import_s, 3), "per_host_task_s": {},
                                       "cpu_per_host_s": {}}
        for forks in forks_list:
            walls: dict[str, list[float]] = {key: [] for key, _c, _p in runs}
            cpus: dict[str, list[float]] = {key: [] for key, _c, _p in runs}
            for _round in range(args.rounds):
                for key, collections, play in runs:  # interleaved: the same load for every side
                    doc = run_play(collections, inv, play, forks)
                    walls[key].append(task_wall(doc))
                    cpus[key].append(doc["bench_cpu_s"])
            for key, values in walls.items():
                per_host = statistics.median(values) * min(forks, args.hosts) / args.hosts
                figures["modules"][key]["per_host_task_s"][str(forks)] = round(per_host, 3)
                cpu = statistics.median(cpus[key]) / args.hosts
                figures["modules"][key]["cpu_per_host_s"][str(forks)] = round(cpu, 3)
    finally:
        pebble.stop()
        cts.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, forks_list, args.rounds)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def print_figures(figures: dict, forks_list: list[int], rounds: int) -> None:
    print("module_bench: %d local hosts, %s, forks %s, median of %d rounds; %s, %d CPUs, load %s" % (
        figures["hosts"], figures["python"], "/".join(map(str, forks_list)), rounds, platform.machine(),
        os.cpu_count() or 0, " ".join("%.1f" % x for x in os.getloadavg())))
    forks = "/".join(map(str, forks_list))
    print("| job | module | s per host-task (forks %s) | CPU s per host (forks %s) | AnsiballZ KiB | modules imported "
          "| import s | ours / peer (wall) | ours / peer (CPU) |" % (forks, forks))
    print("|---|---|---|---|---|---|---|---|---|")
    mods = figures["modules"]
    for label, ours, peer in PAIRS:
        revs = [None] + ([figures["baseline"]] if figures.get("baseline") else [])
        for module in [ours + at(rev) for rev in revs] + [peer]:
            fig = mods[module]
            cost, cpu = ((" / ".join("%.3f" % fig[what][str(f)] for f in forks_list))
                         for what in ("per_host_task_s", "cpu_per_host_s"))
            ratios = ["", ""]
            if module != peer:
                ratios = [" / ".join("%.2fx" % (fig[what][str(f)] / mods[peer][what][str(f)]) for f in forks_list)
                          for what in ("per_host_task_s", "cpu_per_host_s")]
            row = (label, module, cost, cpu, fig["payload_bytes"] / 1024, fig["imported_modules"], fig["import_s"],
                   ratios[0], ratios[1])
            print("| %s | %s | %s | %s | %.0f | %d | %.3f | %s | %s |" % row)


if __name__ == "__main__":
    sys.exit(main())
