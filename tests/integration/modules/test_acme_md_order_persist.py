"""mdfleet.md.acme_md_order with dns-persist-01 through ansible-playbook against pebble 2.10: the
record in the result (check mode, failure, success), then issuance once it is published."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ansible", reason="ansible-core is only in the venv")

NAMES = ["*.mod.persist.example", "mod.persist.example"]


def persist_task(name: str, pebble, challtestsrv, store, **extra) -> str:
    args = {"domains": NAMES, "challenge": "dns-persist-01", "dns_persist_policy": "wildcard",
            "dns_persist_resolvers": [challtestsrv.dns_address], "acme_directory": pebble.directory_url,
            "ca_bundle": pebble.ca_bundle, "agree_tos": True, "store": str(store)}
    args.update(extra)
    return ("    - name: %s\n      mdfleet.md.acme_md_order: %s\n      register: r\n      ignore_errors: true\n"
            % (name, json.dumps(args)))


def test_the_record_is_returned_then_issued_once_published(run_playbook, pebble_persist, challtestsrv, txt,
                                                           tmp_path):
    store = tmp_path / "store"
    tasks = (persist_task("plan", pebble_persist, challtestsrv, store).replace("register: r", "check_mode: true")
             + persist_task("first", pebble_persist, challtestsrv, store))
    proc, res = run_playbook(tasks)
    assert "Traceback" not in proc.stdout + proc.stderr
    [planned] = res["plan"]["dns_persist_records"]
    assert res["plan"]["plan"] == "order" and planned["value"] is None
    assert planned["issuer_domain_name"] == "pebble.letsencrypt.org"  # from the directory, before any order
    assert "no ACME account" in planned["missing"][0]

    first = res["first"]
    assert first["failed"] and "CA was not asked to validate" in first["msg"]
    [record] = first["dns_persist_records"]
    assert record["zone_line"] in first["msg"] and record["identifiers"] == NAMES
    assert record["value"].endswith("; policy=wildcard") and record["account_uri"] in record["value"]

    txt(record["name"], record["value"])
    proc, res = run_playbook(persist_task("issue", pebble_persist, challtestsrv, store, force=True)
                             + persist_task("again", pebble_persist, challtestsrv, store))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["issue"]["changed"] and sorted(res["issue"]["certificates"]["p256"]["names"]) == NAMES
    assert res["again"]["changed"] is False and res["again"]["dns_persist_records"] == [record]
