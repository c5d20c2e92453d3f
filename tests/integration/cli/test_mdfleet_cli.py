"""The `mdfleet` host command as a real process: config errors, drive, reload, lock."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")


def mdfleet(config: Path, *args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=UTILS)
    return subprocess.run([python, "-m", "mdcore", "--config", str(config), *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def write_config(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def pebble_config(pebble, tmp_path: Path, **top) -> dict:
    doc = {
        "store": str(tmp_path / "store"),
        "defaults": {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
                     "http01_mode": "standalone", "standalone_address": "127.0.0.1",
                     "standalone_port": pebble.http_port},
        "domains": [{"name": "one", "domains": ["one.cli.example"]},
                    {"name": "two", "domains": ["two.cli.example"], "key_types": ["p256", "rsa2048"]}],
    }
    doc.update(top)
    return doc


def test_check_config_names_file_key_and_problem(tmp_path):
    bad = write_config(tmp_path, {"domains": [{"domains": ["ok.example"], "acme_directory": "https://ca/dir"},
                                              {"name": "shop", "domains": ["shop.example"],
                                               "acme_directory": "https://ca/dir", "key_types": ["rsa1024"]}]})
    proc = mdfleet(bad, "check-config")
    assert proc.returncode == 2
    assert "config.json: domains[1] (shop):" in proc.stderr and "rsa1024" in proc.stderr
    typo = write_config(tmp_path, {"domains": [], "stapling": {"windwo": "33%"}})
    proc = mdfleet(typo, "check-config")
    assert proc.returncode == 2 and "stapling: unknown key windwo" in proc.stderr
    shell = write_config(tmp_path, {"domains": [], "message_cmd": "mail -s x root"})
    assert "no shell string" in mdfleet(shell, "check-config").stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    proc = mdfleet(broken, "check-config")
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
    assert not (tmp_path / "store").exists()


def test_drive_issues_then_has_nothing_to_do(pebble_standalone, tmp_path):
    config = write_config(tmp_path, pebble_config(pebble_standalone, tmp_path))
    first = mdfleet(config, "drive", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["changed"] and {d["md"] for d in report["domains"]} == {"one", "two"}
    second = json.loads(mdfleet(config, "drive", "--json").stdout)
    assert not second["changed"] and all(d["action"] == "none" for d in second["domains"])
    forced = json.loads(mdfleet(config, "renew", "one", "--force", "--json").stdout)
    assert [d["md"] for d in forced["domains"]] == ["one"] and forced["changed"]


def test_drive_under_debian_python(pebble_standalone, tmp_path):
    config = write_config(tmp_path, pebble_config(pebble_standalone, tmp_path))
    proc = mdfleet(config, "drive", python="/usr/bin/python3")
    assert proc.returncode == 0, proc.stderr
    assert "one" in proc.stdout and "order" in proc.stdout


def test_failing_config_test_blocks_reload(pebble_standalone, tmp_path):
    marker = tmp_path / "reloaded"
    doc = pebble_config(pebble_standalone, tmp_path, reload={
        "test_command": [sys.executable, "-c", "import sys; print('nginx: [emerg] bad'); sys.exit(1)"],
        "reload_command": [sys.executable, "-c", "open(%r, 'w').write('x')" % str(marker)]})
    proc = mdfleet(write_config(tmp_path, doc), "drive", "--json")
    assert proc.returncode == 1
    assert "config-test-failed" in proc.stdout and "[emerg] bad" in proc.stderr
    assert not marker.exists()


def test_reload_after_activation(pebble_standalone, tmp_path):
    marker = tmp_path / "reloaded"
    doc = pebble_config(pebble_standalone, tmp_path, reload={
        "test_command": [sys.executable, "-c", "pass"],
        "reload_command": [sys.executable, "-c", "open(%r, 'a').write('x')" % str(marker)]})
    config = write_config(tmp_path, doc)
    assert mdfleet(config, "drive").returncode == 0
    assert mdfleet(config, "drive").returncode == 0
    assert marker.read_text() == "x"  # reloaded once: only the run that activated new sets reloads


def test_locked_store_exits_3(pebble_standalone, tmp_path):
    config = write_config(tmp_path, pebble_config(pebble_standalone, tmp_path, lock_wait=0.3))
    (tmp_path / "store").mkdir(mode=0o700)
    with open(tmp_path / "store" / "store.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = mdfleet(config, "drive")
    assert proc.returncode == 3 and "locked by another mdfleet run" in proc.stderr


def test_drive_publishes_status_for_the_web_server_with_mod_md_names(pebble_standalone, tmp_path):
    publish = tmp_path / "www" / "md-status"
    config = write_config(tmp_path, pebble_config(pebble_standalone, tmp_path,
                                                  status={"publish_dir": str(publish), "key_names": "mod_md"}))
    proc = mdfleet(config, "drive")
    assert proc.returncode == 0, proc.stderr
    published = json.loads((publish / "md-status.json").read_text())
    two = next(md for md in published["managed-domains"] if md["name"] == "two")
    assert {"secp256r1", "rsa"} <= set(two["cert"]) and published["key-names"] == "mod_md"
    assert (publish / "index.html").read_text().startswith("<!DOCTYPE html>")
    assert (publish / "domains" / "one.json").exists() and (os.stat(publish).st_mode & 0o777) == 0o755
    ours = json.loads(mdfleet(config, "status", "--json", "--key-names", "mdfleet").stdout)
    assert {"p256", "rsa2048"} <= set(next(md for md in ours["managed-domains"] if md["name"] == "two")["cert"])


def test_domain_removed_from_the_config_is_retired(pebble_standalone, tmp_path):
    """It used to be stapled, reported and announced ('expiring') until it expired."""
    events = tmp_path / "events.jsonl"
    recorder = str(Path(__file__).with_name("record_event.py"))
    doc = pebble_config(pebble_standalone, tmp_path, message_cmd=[sys.executable, recorder, str(events)])
    config = write_config(tmp_path, doc)
    assert mdfleet(config, "drive").returncode == 0
    store = Path(doc["store"])
    doc["domains"] = [d for d in doc["domains"] if d["name"] != "two"]
    config = write_config(tmp_path, doc)
    events.write_text("")
    proc = mdfleet(config, "drive", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [r["md"] for r in report["retired"]] == ["two"] and report["changed"]
    assert not (store / "domains" / "two").exists()
    status = json.loads(mdfleet(config, "status", "--json").stdout)
    assert [md["name"] for md in status["managed-domains"]] == ["one"]
    assert not (store / "status" / "domains" / "two.json").exists()
    assert all(s["md"] != "two" for s in report["staples"])  # no longer stapled
    assert all(json.loads(line)["argv"][-1] != "two" for line in events.read_text().splitlines())
    listed = json.loads(mdfleet(config, "retired", "--json").stdout)["retired"]
    assert [(e["md"], e["purged"]) for e in listed] == [("two", False)]
    kept = Path(listed[0]["folder"])
    assert (kept / "two.1" / "rsa2048" / "privkey.pem").exists()  # kept until purged
    assert mdfleet(config, "retired", "--purge", "--older-than", "1").returncode == 0  # too young
    assert kept.exists()
    purged = json.loads(mdfleet(config, "retired", "--purge", "--json").stdout)
    assert purged["changed"] and not kept.exists()
    # back in the configuration: ordered again, as a new domain
    doc = pebble_config(pebble_standalone, tmp_path, message_cmd=[sys.executable, recorder, str(events)])
    assert mdfleet(write_config(tmp_path, doc), "drive").returncode == 0 and (store / "domains" / "two").exists()
