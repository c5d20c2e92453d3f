"""`mdfleet drive` end to end: pebble certificates with an OCSP URL, a responder outage, then
`mdfleet staple` once the responder is up, events and status files along the way; a later
outage while the good staple is still served is exit 4 (degraded), not a failure."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

from cryptography import x509

from mdcore.cli import main
from peers.ocsp_pki import Leaf, OcspTestCA
from peers.ocsp_responder import OpensslOcspResponder, private_netns
from peers.ports import free_port
from peers.require import need

RECORDER = str(Path(__file__).with_name("record_event.py"))


def run_cli(config: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def events(log: Path) -> list[list[str]]:
    return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []


def test_drive_outage_then_staple_with_events_and_status(pebble_factory, tmp_path):
    need("openssl")
    port = free_port()
    pebble = pebble_factory(ocsp_url="http://127.0.0.1:%d/" % port)
    log = tmp_path / "events.log"
    store = tmp_path / "store"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "store": str(store), "message_cmd": [sys.executable, RECORDER, str(log)],
        "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                     "http01_mode": "standalone", "standalone_address": "127.0.0.1",
                     "standalone_port": pebble.http_port},
        "domains": [{"name": "shop", "domains": ["shop.cli.example", "www.shop.cli.example"]}],
        "stapling": {"timeout": 2, "nginx_dir": str(tmp_path / "nginx-staples")},
        "status": {"prometheus_file": str(tmp_path / "textfile" / "mdfleet.prom")},
    }))
    (tmp_path / "textfile").mkdir()

    # 1. The responder is not up yet: certificates are issued, stapling fails, drive says so.
    code, out, err = run_cli(config, "drive")
    assert code == 1 and "stapling shop/p256" in err
    argvs = events(log)
    assert ["renewing", "shop"] in argvs and ["renewed", "shop"] in argvs
    assert ["challenge-setup:http-01:shop.cli.example", "shop"] in argvs
    assert ["ocsp-errored", "shop"] in argvs
    doc = json.loads((store / "status" / "md-status.json").read_text())
    md = doc["managed-domains"][0]
    assert md["name"] == "shop" and md["cert"]["p256"]["serial"]
    assert (tmp_path / "textfile" / "mdfleet.prom").read_text().count("x509_cert_not_after{") == 1
    assert "<table" in (store / "status" / "index.html").read_text()

    # 2. The responder comes up (signing as pebble's intermediate): `mdfleet staple` fetches.
    issuer = OcspTestCA.from_pem(str(tmp_path / "pki"), pebble.intermediate_pem().encode(),
                                 pebble.intermediate_key_pem().encode())
    cert_path = store / "domains" / "shop" / "p256" / "cert.pem"
    issuer.leaves.append(Leaf("shop", x509.load_pem_x509_certificate(cert_path.read_bytes()), None,
                              str(cert_path.parent)))
    with private_netns(), OpensslOcspResponder(tmp_path / "ocsp", issuer, port=port):
        # the failure backs off: a forced clock is not available to the CLI, so clear the retry time
        book = store / "ocsp" / "staples.json"
        doc = json.loads(book.read_text())
        doc["staples"]["shop/p256"]["next_retry"] = None
        book.write_text(json.dumps(doc))
        code, out, err = run_cli(config, "staple", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [s["status"] for s in report["staples"]] == ["good"] and report["changed"]
    staple = tmp_path / "nginx-staples" / "shop.p256.der"
    assert staple.exists() and os.path.getsize(staple) > 0
    assert ["ocsp-renewed", "shop"] in events(log)
    doc = json.loads((store / "status" / "md-status.json").read_text())
    assert doc["managed-domains"][0]["cert"]["p256"]["ocsp"]["status"] == "good"

    # 3. Nothing due: drive contacts nobody, changes nothing, fires nothing new.
    before = len(events(log))
    code, out, err = run_cli(config, "drive", "--json")
    assert code == 0, err
    assert not json.loads(out)["changed"]
    assert len(events(log)) == before
    code, out, _err = run_cli(config, "status", "--prometheus")
    assert code == 0 and "mdfleet_" in out

    # 4. A refresh is due (a window of nearly the whole lifetime) and the responder is down again:
    #    the stored good response is still served, so drive is degraded (4), not failed (1).
    doc = json.loads(config.read_text())
    doc["stapling"]["window"] = "99.9999%"
    config.write_text(json.dumps(doc))
    code, out, err = run_cli(config, "drive", "--json")
    assert code == 4, err
    assert "mdfleet: degraded: stapling shop/p256:" in err and "is still served" in err
    assert json.loads(out)["errors"] == [] and [s["status"] for s in json.loads(out)["staples"]] == ["good"]
    assert staple.exists() and os.path.getsize(staple) > 0
