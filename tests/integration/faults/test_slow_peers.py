"""Peers that hold a run: an ACME CA and an OCSP responder that trickle their answer one byte every
half second (a complete answer would take days), and a CA and a responder that accept and never
answer, all on loopback (peers/slow_peer.py), beside a domain at pebble. One `mdfleet drive` with
small deadlines (request 2 s, order 6 s, stapling 2 s, run 40 s).

The run ends within its deadline (a per-read timeout would let the trickling peers hold it, and
the store lock, forever); every domain and certificate of a slow peer gets one error line naming the
peer; the domain at pebble is issued all the same; the domains at the silent CA share one attempt
at its account (they end with the CA's own error, not with the run's time used up), and the next
drive orders nothing more (they back off)."""

from __future__ import annotations

import json
import re
import time

import pytest

from mdcore.clock import Clock
from mdcore.store import Store
from peers.ocsp_pki import OcspTestCA
from peers.slow_peer import DRIP, SILENT, SlowPeer

from .engine import BUG_MARKS, host_config, mdfleet, pebble_defaults, problems

DRIP_STEP = 0.5  # seconds between two bytes of a trickling peer
ENDLESS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n" + b" " * 999_000
RUN_TIMEOUT = 40
TIMEOUTS = {"request_timeout": 2, "order_timeout": 6}
SILENT_DOMAINS = ("silent1", "silent2", "silent3")


@pytest.mark.timeout(300)
def test_slow_and_silent_peers_end_within_the_run_deadline(pebble_standalone, work, figures):
    ca = OcspTestCA(str(work / "ocsp-ca"))
    with SlowPeer(DRIP, answer=ENDLESS, pace=DRIP_STEP) as drip_ca, SlowPeer(SILENT) as silent_ca, \
            SlowPeer(DRIP, answer=ENDLESS, pace=DRIP_STEP) as drip_ocsp, SlowPeer(SILENT) as silent_ocsp:
        others = [{"cert": ca.issue(name, peer.url("/")).fullchain_path, "responder": peer.url("/"),
                   "staple_file": str(work / ("%s.der" % name))}
                  for name, peer in (("drip.ocsp.example", drip_ocsp), ("silent.ocsp.example", silent_ocsp))]
        domains = [dict(name="good", domains=["good.slow.example"], **pebble_defaults(pebble_standalone)),
                   dict(name="drip", domains=["drip.slow.example"], acme_directory=drip_ca.url("/dir"), **TIMEOUTS)]
        domains += [dict(name=md, domains=["%s.slow.example" % md], acme_directory=silent_ca.url("/dir"), **TIMEOUTS)
                    for md in SILENT_DOMAINS]
        config = host_config(pebble_standalone, work / "host", {}, run_timeout=RUN_TIMEOUT,
                             stapling={"enabled": True, "timeout": 2, "others": others},
                             defaults=dict(pebble_defaults(pebble_standalone), **TIMEOUTS))
        doc = json.loads(config.read_text())
        doc["domains"] = domains
        config.write_text(json.dumps(doc))

        start = time.monotonic()
        run = mdfleet(config, "drive", "--json", timeout=RUN_TIMEOUT + 60)
        took = time.monotonic() - start
        again = mdfleet(config, "drive", "--json", timeout=RUN_TIMEOUT + 60)
        connections = {"drip CA": drip_ca.connections, "silent CA": silent_ca.connections,
                       "drip OCSP": drip_ocsp.connections, "silent OCSP": silent_ocsp.connections}

    findings = []
    if any(mark in r.stderr + r.stdout for r in (run, again) for mark in BUG_MARKS):
        findings.append("a bug: %s %s" % (run.stderr, again.stderr))
    if took > RUN_TIMEOUT:
        findings.append("the run took %.1fs, its deadline is %ds" % (took, RUN_TIMEOUT))
    report = json.loads(run.stdout)
    errors = {d["md"]: d.get("error") or "" for d in report["domains"]}
    port = {"drip": drip_ca.port, **{md: silent_ca.port for md in SILENT_DOMAINS}}
    for md, peer_port in port.items():
        if "127.0.0.1:%d" % peer_port not in errors[md] or "run's time" in errors[md]:
            findings.append("%s: the error does not name its CA: %r" % (md, errors[md]))
    if connections["silent CA"] != 1:  # one attempt at the account, its failure shared by every order
        asked = (connections["silent CA"], len(SILENT_DOMAINS))
        findings.append("the silent CA was asked %d times for %d domains" % asked)
    if "sends too slowly" not in errors["drip"]:
        findings.append("drip: %r does not say the peer sends too slowly" % errors["drip"])
    if errors["good"] or not Store(str(work / "host" / "store"), Clock()).intact_set("good"):
        findings.append("good was not issued: %r" % errors["good"])
    staples = {s["name"]: s.get("error") or "" for s in report["staples"]}
    for other, peer in zip(others, (drip_ocsp, silent_ocsp), strict=True):
        error = next((e for name, e in staples.items() if other["cert"] in name or name in other["cert"]), "")
        if "127.0.0.1:%d" % peer.port not in error:
            why = (other["cert"], error, staples)
            findings.append("stapling %s: the error does not name the responder: %r (%s)" % why)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    findings += ["not one line: %r" % line for line in lines if not line.startswith("mdfleet: ")]
    if run.returncode != 1:
        findings.append("drive exited %d" % run.returncode)
    ordered = [d["md"] for d in json.loads(again.stdout)["domains"] if d["changed"]]
    if ordered:
        findings.append("the next drive ordered %s again" % ordered)
    findings += problems(work / "host" / "store", ["good"])
    slowest = max(float(x) for x in re.findall(r"within ([0-9.]+)s", run.stderr) or ["0"])
    figures.add("slow peers: a CA and an OCSP responder trickling a byte every %.1fs, a CA and a responder never "
                "answering (%s connections), %d domains, %d staples: the run ended after %.1fs of its %ds "
                "(exchanges bounded at %gs)" % (DRIP_STEP, ", ".join("%s %d" % kv for kv in connections.items()),
                                                len(domains), len(others), took, RUN_TIMEOUT, slowest),
                runs=2, tracebacks=sum(any(m in r.stderr for m in BUG_MARKS) for r in (run, again)))
    assert findings == [], "\n".join(findings) + "\n" + run.stderr
