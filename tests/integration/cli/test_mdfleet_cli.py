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
    assert "never a shell string" in mdfleet(shell, "check-config").stderr
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


def test_unrunnable_config_test_fails_the_reload_cleanly(pebble_standalone, tmp_path):
    """A test command that cannot be run (no execute permission) is a failed config test naming it,
    after the new certificates are in place: no traceback, no reload (issue 10 item 7)."""
    script = tmp_path / "nginx-test"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    marker = tmp_path / "reloaded"
    doc = pebble_config(pebble_standalone, tmp_path, reload={
        "test_command": [str(script), "-t"],
        "reload_command": [sys.executable, "-c", "open(%r, 'w').write('x')" % str(marker)]})
    proc = mdfleet(write_config(tmp_path, doc), "drive", "--json")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert [r["outcome"] for r in report["reloads"]] == ["config-test-failed"]
    assert "cannot run %s: Permission denied" % script in report["reloads"][0]["detail"]
    assert not marker.exists() and (tmp_path / "store" / "domains" / "one").is_symlink()


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


RECORDER = str(Path(__file__).with_name("record_event.py"))


def _events(log: Path) -> list[list[str]]:
    return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []


def test_a_missed_reload_is_made_up_by_every_later_run(pebble_standalone, tmp_path):
    """The config test fails once after activation: the next runs, with nothing due, still reload
    (and only then say `installed`); once reloaded, nothing more."""
    marker, broken, log = tmp_path / "reloaded", tmp_path / "broken", tmp_path / "events.log"
    broken.write_text("x")
    doc = pebble_config(pebble_standalone, tmp_path, message_cmd=[sys.executable, RECORDER, str(log)], reload={
        "test_command": [sys.executable, "-c", "import os, sys; sys.exit(os.path.exists(%r))" % str(broken)],
        "reload_command": [sys.executable, "-c", "open(%r, 'a').write('x')" % str(marker)]})
    config = write_config(tmp_path, doc)
    first = mdfleet(config, "drive", "--json")
    assert first.returncode == 1 and "web server not reloaded (new certificates)" in first.stderr
    assert sorted(e for e in _events(log) if e[0] == "renewed") == [["renewed", "one"], ["renewed", "two"]]
    assert not [e for e in _events(log) if e[0] == "installed"] and not marker.exists()
    assert sorted(os.listdir(tmp_path / "store" / "installs")) == ["one.json", "two.json"]
    again = mdfleet(config, "drive", "--json")  # still broken: still pending
    assert again.returncode == 1 and not json.loads(again.stdout)["changed"] and not marker.exists()
    broken.unlink()
    made_up = mdfleet(config, "drive", "--json")
    assert made_up.returncode == 0, made_up.stderr
    assert marker.read_text() == "x" and json.loads(made_up.stdout)["reloads"][0]["outcome"] == "reloaded"
    assert sorted(e for e in _events(log) if e[0] == "installed") == [["installed", "one"], ["installed", "two"]]
    assert os.listdir(tmp_path / "store" / "installs") == []
    assert mdfleet(config, "drive").returncode == 0 and marker.read_text() == "x"  # nothing more to load


def test_a_run_killed_after_activation_is_finished_by_the_next(pebble_standalone, tmp_path):
    """Killed right after the new set was activated: the next run reloads and delivers the killed
    run's `renewed` and `installed`."""
    def config_for(name: str) -> tuple[Path, Path, Path]:
        folder = tmp_path / name
        folder.mkdir()
        marker, log = folder / "reloaded", folder / "events.log"
        doc = pebble_config(pebble_standalone, folder, message_cmd=[sys.executable, RECORDER, str(log)], reload={
            "test_command": [sys.executable, "-c", "pass"],
            "reload_command": [sys.executable, "-c", "open(%r, 'a').write('x')" % str(marker)]})
        doc["domains"] = doc["domains"][:1]
        return write_config(folder, doc), marker, log

    # the activation's last write point, the domains/ link swap ("replace .../domains/one"), counted
    # in a run like the one that is killed (another store: a first drive)
    traced, _marker, _log = config_for("traced")
    trace = tmp_path / "trace"
    env = dict(os.environ, PYTHONPATH=UTILS)
    subprocess.run([sys.executable, "-m", "mdcore", "--config", str(traced), "drive"], capture_output=True,
                   env=dict(env, MDFLEET_FAULT_TRACE=str(trace)), timeout=120, check=True)
    swap = [line.split()[0] for line in trace.read_text().splitlines() if line.endswith("/domains/one")][-1]
    config, marker, log = config_for("killed")
    killed = subprocess.run([sys.executable, "-m", "mdcore", "--config", str(config), "drive"], capture_output=True,
                            env=dict(env, MDFLEET_FAULT_KILL_AT=str(int(swap) + 1)), timeout=120, check=False)
    assert killed.returncode == -9
    assert (tmp_path / "killed" / "store" / "domains" / "one").exists() and not marker.exists()
    assert _events(log) == [["renewing", "one"], ["challenge-setup:http-01:one.cli.example", "one"]]
    proc = mdfleet(config, "drive", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reloads"][0]["outcome"] == "reloaded"
    assert _events(log)[2:] == [["renewed", "one"], ["installed", "one"]] and marker.read_text() == "x"


def _account_orders(pebble, store: Path) -> list[str]:
    """The order URLs in the account's order list at pebble (RFC 8555 7.1.2.1), signed as the store's account."""
    from mdcore.acme.account import AccountStore
    from mdcore.acme.transport import AcmeTransport, TransportOptions
    from mdcore.clock import Clock, Deadline

    clock = Clock()
    transport = AcmeTransport(pebble.directory_url, clock, TransportOptions(verify=pebble.ca_bundle))
    ref, key = AccountStore(str(store / "accounts")).load(pebble.directory_url, None)
    account = transport.post_as_get(ref.url, key, ref.url, Deadline(clock, 30), "account").body
    listing = transport.post_as_get(account["orders"], key, ref.url, Deadline(clock, 30), "orders").body
    return list(listing["orders"])


def test_a_run_killed_right_after_new_order_resumes_that_order(pebble_standalone, tmp_path):
    """Killed after newOrder but before the order's URL was written: the marker written before
    newOrder makes the next run find the order in the account's order list instead of making another."""
    def config_for(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        doc = pebble_config(pebble_standalone, folder)
        doc["domains"] = [{"name": "lost", "domains": ["%s.lost.cli.example" % name]}]
        return write_config(folder, doc)

    # the order's URL replaces staging/lost/order.json for the third time (after staging began and
    # the marker), counted in a run like the one that is killed
    trace = tmp_path / "trace"
    env = dict(os.environ, PYTHONPATH=UTILS)
    subprocess.run([sys.executable, "-m", "mdcore", "--config", str(config_for("traced")), "drive"],
                   capture_output=True, env=dict(env, MDFLEET_FAULT_TRACE=str(trace)), timeout=120, check=True)
    writes = [line.split() for line in trace.read_text().splitlines() if line.endswith("/staging/lost/order.json")]
    replaces = [number for number, what, _path in writes if what == "replace"]
    assert len(replaces) == 3, writes
    config = config_for("killed")
    killed = subprocess.run([sys.executable, "-m", "mdcore", "--config", str(config), "drive"], capture_output=True,
                            env=dict(env, MDFLEET_FAULT_KILL_AT=replaces[2]), timeout=120, check=False)
    assert killed.returncode == -9
    store = tmp_path / "killed" / "store"
    staged = json.loads((store / "staging" / "lost" / "order.json").read_text())
    assert staged["orders"] == {} and list(staged["ordering"]) == ["p256"]
    (lost,) = _account_orders(pebble_standalone, store)  # the CA has the order, the store not its URL
    proc = mdfleet(config, "drive", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((store / "domains" / "lost" / "set.json").read_text())["orders"] == {"p256": lost}
    assert _account_orders(pebble_standalone, store) == [lost]  # no second order
