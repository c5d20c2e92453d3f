"""Time from order to issued certificate for dns-01 by RFC 2136, with the propagation check, against
Debian's BIND and Knot on loopback (tests/peers/dnslab.py) and a pebble resolving through each.

Not a test: it prints figures. Each case issues --rounds wildcard + apex certificates (P-256),
each for new names (so pebble has no valid authorization to reuse and every order is validated),
with `mdcore.manager.ensure_md` on one store, after one warm-up order (account registration) that
is not counted. Per case: the wall time of ensure_md (order, UPDATE,
propagation check, validation, finalize, download, activation, teardown), the time inside the
solver's ready() (placing the records + the propagation check) and the propagation check alone.

    bind             BIND primary, pebble resolves through it
    knot             Knot primary, pebble resolves through it
    bind+secondary   BIND primary + a Knot secondary that polls every 2 s (no NOTIFY); pebble
                     resolves through the secondary, so the check has to wait for it
    <case> no-check  the same without the propagation check (reference)

Run: /work/venv/bin/python bench/rfc2136_bench.py [--rounds 5]
     /usr/bin/python3 bench/rfc2136_bench.py     (Debian 12's python3-dnspython 2.3)
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins" / "module_utils"), str(ROOT / "tests")]


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0]


def main() -> int:
    import dns.version

    from mdcore.challenges.rfc2136 import Rfc2136Solver
    from mdcore.config import md_config_from_dict
    from mdcore.manager import ensure_md
    from mdcore.store import Store
    from peers.dnslab import ACME_KEY, dns_lab

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    timings: list[tuple[float, float]] = []  # (ready() seconds, propagation check seconds) per ready()
    original_ready = Rfc2136Solver.ready

    def timed_ready(self, deadline=None):
        started = time.perf_counter()
        original_ready(self, deadline)
        timings.append((time.perf_counter() - started, self.last_propagation or 0.0))

    Rfc2136Solver.ready = timed_ready  # type: ignore[method-assign]

    print("rfc2136 bench: %s, Python %s, dnspython %s, %s, %s, %s" % (
        platform.machine(), platform.python_version(), dns.version.version, _version(["named", "-v"]),
        _version(["knotd", "-V"]), "pebble " + _version(["dpkg-query", "-W", "-f=${Version}", "pebble"])))
    tmp = Path(tempfile.mkdtemp(prefix="rfc2136-bench-"))
    counter = iter(range(1000))
    try:
        with dns_lab(lambda name: tmp / ("%s-%d" % (name, next(counter)))) as lab:
            cases = [("bind", lab.site("bind")), ("knot", lab.site("knot")),
                     ("bind+secondary", lab.site_for(lab.bind, "slow.test", ACME_KEY, lab.secondary))]
            header = ("case", "rounds", "order->cert s med (min-max)", "ready() s med (min-max)",
                      "check s med (min-max)")
            print("%-26s %6s %24s %24s %24s" % header)
            for name, site in cases:
                for check in (True, False):
                    if name == "bind+secondary" and not check:
                        continue  # without the check the CA (through the secondary) fails: no figure
                    store = Store(str(tmp / ("store-%d" % next(counter))))

                    def issue(label: str, site=site, check=check, store=store) -> float:
                        names = ["*.%s.%s" % (label, site.zone), "%s.%s" % (label, site.zone)]
                        doc = {"domains": names, "acme_directory": site.pebble.directory_url,
                               "ca_bundle": site.pebble.ca_bundle, "agree_tos": True, "challenge": "dns-01",
                               "dns_provider": "rfc2136", "rfc2136": site.rfc2136(propagation_check=check),
                               "order_timeout": 120}
                        cfg = md_config_from_dict(doc)
                        started = time.perf_counter()
                        ensure_md(store, cfg)
                        return time.perf_counter() - started

                    issue("w%d" % next(counter))  # warm-up: the account, the first order
                    timings.clear()
                    walls = [issue("c%d" % next(counter)) for _round in range(args.rounds)]
                    ready = [r for r, _c in timings]
                    checks = [c for _r, c in timings]
                    print("%-26s %6d %24s %24s %24s" % (
                        "%s%s" % (name, "" if check else " no-check"), args.rounds, _fmt(walls), _fmt(ready),
                        _fmt(checks) if check else "-"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _fmt(values: list[float]) -> str:
    return "%.3f (%.3f-%.3f)" % (statistics.median(values), min(values), max(values))


if __name__ == "__main__":
    sys.exit(main())
