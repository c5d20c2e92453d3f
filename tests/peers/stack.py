"""A detached ACME test stack on 127.0.0.1 for playbook runs (molecule, the demo):
challtestsrv (DNS), pebble, and optionally an OCSP responder for pebble's certificates.

    cd tests && python3 -m peers.stack start --dir DIR [--http-port 80] [--validity 900] \
        [--ocsp builtin|none|PORT] [--name web1.example.test=127.0.0.2 ...] [--ttl 3600]
    cd tests && python3 -m peers.stack stop --dir DIR

``start`` launches a supervisor in its own session, waits until every peer answers and prints
DIR/stack.json: directory_url, ca_bundle (pebble's HTTPS CA: what the ACME client verifies),
roots_file (pebble's issuing root: what TLS clients verify served certificates with),
intermediate_file / intermediate_key_file (for an external OCSP responder), management URLs,
ocsp_url, pid. The peers die with the supervisor (PR_SET_PDEATHSIG); the supervisor stops on
SIGTERM (``stop``) or after ``--ttl`` seconds, so a crashed test run leaves nothing behind for
long. ``--ocsp PORT`` only puts http://127.0.0.1:PORT/ into the certificates (the caller runs
the responder, e.g. `openssl ocsp` in a private network namespace); ``builtin`` runs
peers.pebble_ocsp (127.0.0.1 only). Unknown names resolve to 127.0.0.1; ``--name`` maps
others (e.g. to a molecule host's own loopback address, where pebble validates http-01).
Only loopback is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .challtestsrv import ChallTestSrv
from .pebble import Pebble
from .pebble_ocsp import PebbleOcspResponder
from .ports import free_port
from .wait import pid_alive, poll, wait_gone

STATE = "stack.json"
TESTS_DIR = Path(__file__).resolve().parents[1]


def _state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATE).read_text())
    except (OSError, ValueError):
        return None


def stop(folder: Path, timeout: float = 15.0) -> bool:
    """Stop the stack of ``folder``; returns whether one was running."""
    state = _state(folder)
    if not state or not pid_alive(int(state["pid"])):
        (folder / STATE).unlink(missing_ok=True)
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    try:
        wait_gone(pid, timeout, "acme stack (pid %d) to stop" % pid)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
    (folder / STATE).unlink(missing_ok=True)
    return True


def start(args: argparse.Namespace) -> int:
    folder = Path(args.dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stop(folder)
    log = folder / "stack.log"
    argv = [sys.executable, "-m", "peers.stack", "serve", "--dir", str(folder), "--http-port", str(args.http_port),
            "--ocsp", args.ocsp, "--ttl", str(args.ttl)]
    if args.validity:
        argv += ["--validity", str(args.validity)]
    for name in args.name:
        argv += ["--name", name]
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def ready() -> dict | None:
        state = _state(folder)
        if state and state.get("pid") == proc.pid:
            return state
        if proc.poll() is not None:
            raise TimeoutError("the stack exited")  # aborts the wait: nothing will come up
        return None

    try:
        state = poll(ready, 60, "acme stack", interval=None, pid=proc.pid, watch=[folder])  # stack.json, or its end
        sys.stdout.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
        return 0
    except TimeoutError:
        pass
    if proc.poll() is None:
        proc.terminate()
    sys.stderr.write("acme stack did not come up; %s:\n%s\n" % (log, log.read_text(errors="replace")[-4000:]))
    return 1


def serve(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    ocsp_port = None
    if args.ocsp == "builtin":
        ocsp_port = free_port()
    elif args.ocsp != "none":
        ocsp_port = int(args.ocsp)
    ocsp_url = "http://127.0.0.1:%d/" % ocsp_port if ocsp_port else ""
    extra = {"certificateValidityPeriod": args.validity} if args.validity else {}
    cts = ChallTestSrv(folder / "challtestsrv").start()
    responder = None
    try:
        pebble = Pebble(folder / "pebble", cts, http_port=args.http_port, tls_port=args.tls_port, ocsp_url=ocsp_url,
                        env={"PEBBLE_WFE_NONCEREJECT": "0"}, extra_config=extra).start()
        try:
            for item in args.name:
                name, addr = item.split("=", 1)
                cts.add_a(name, addr)
            roots = pebble.write_roots(folder / "pebble-roots.pem")
            inter = folder / "pebble-intermediate.pem"
            inter.write_text(pebble.intermediate_pem())
            inter_key = folder / "pebble-intermediate.key"
            inter_key.touch(mode=0o600)
            inter_key.write_text(pebble.intermediate_key_pem())
            if args.ocsp == "builtin":
                responder = PebbleOcspResponder(inter.read_bytes(), inter_key.read_bytes(), pebble_lookup(pebble),
                                                port=ocsp_port).start()
            state = {
                "pid": os.getpid(), "directory_url": pebble.directory_url, "ca_bundle": pebble.ca_bundle,
                "roots_file": str(roots), "intermediate_file": str(inter), "intermediate_key_file": str(inter_key),
                "management_url": pebble.management_url, "challtestsrv_url": cts.management_url,
                "dns": cts.dns_address, "ocsp_url": ocsp_url, "http_port": args.http_port, "tls_port": args.tls_port,
                "validity": args.validity or None, "names": dict(n.split("=", 1) for n in args.name),
            }
            tmp = folder / (STATE + ".tmp")
            tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
            os.replace(tmp, folder / STATE)
            print("acme stack up: %s" % json.dumps(state, sort_keys=True), flush=True)
            if not done.wait(args.ttl):
                print("acme stack: ttl of %ss reached, stopping" % args.ttl, flush=True)
        finally:
            if responder is not None:
                responder.stop()
            pebble.stop()
    finally:
        cts.stop()
        state = _state(folder)
        if state and state.get("pid") == os.getpid():
            (folder / STATE).unlink(missing_ok=True)
    return 0


def pebble_lookup(pebble: Pebble):
    def lookup(serial_hex: str) -> dict | None:
        try:
            return pebble.cert_status(serial_hex)
        except Exception:  # unknown serial (404) or pebble gone: no answer
            return None

    return lookup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m peers.stack", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "serve"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dir", required=True)
        cmd.add_argument("--http-port", type=int, default=80, help="where pebble validates http-01")
        cmd.add_argument("--tls-port", type=int, default=443, help="where pebble validates tls-alpn-01")
        cmd.add_argument("--validity", type=int, default=0, help="certificate lifetime in seconds (pebble's "
                                                                 "certificateValidityPeriod; 0: pebble's 5 years)")
        cmd.add_argument("--ocsp", default="none", help="builtin, none, or the port of an external responder")
        cmd.add_argument("--name", action="append", default=[], help="NAME=ADDRESS for challtestsrv's /add-a")
        cmd.add_argument("--ttl", type=float, default=3600.0, help="stop by itself after this many seconds")
    stop_cmd = sub.add_parser("stop")
    stop_cmd.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    if args.command == "start":
        return start(args)
    if args.command == "serve":
        return serve(args)
    print("stopped" if stop(Path(args.dir).resolve()) else "not running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
