"""The quiet memo (mdcore/quiet.py) with real `mdfleet drive` processes on a store pebble issued:
an idle drive after a quiet one is replayed (the CLI is never imported) and prints, exits and
writes what the run would; every kind of change the run would see makes the next drive a full
run again, which then does what it must; a memo that is corrupt, foreign, too old or whose
store is locked is never used; a run that did something leaves none."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdcore import quiet

from .test_mdfleet_cli import pebble_config

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")
FULL_RUN_MARK = "mdcore.cli"  # -X importtime: a full run imports the CLI, a replay does not


class Drive:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        lines = proc.stderr.splitlines()
        self.replayed = not any(line.startswith("import time:") and line.split("|")[-1].strip() == FULL_RUN_MARK
                                for line in lines)
        self.err = "\n".join(line for line in lines if not line.startswith("import time:"))


def drive(config: Path, *extra: str, **env: str) -> Drive:
    return mdfleet(config, "drive", *extra, **env)


def mdfleet(config: Path, *argv: str, **env: str) -> Drive:
    environ = {k: v for k, v in os.environ.items() if k != quiet.OFF}
    environ.update(PYTHONPATH=UTILS, **env)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mdcore", "--config", str(config), *argv],
                          env=environ, capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr
    return Drive(proc)


@pytest.fixture
def host(pebble_factory, tmp_path, monkeypatch):
    """Two domains issued by pebble, then drives until one is quiet: the memo is there. This
    process has the environment of the drives (quiet.replay() is called here too)."""
    monkeypatch.setenv("PYTHONPATH", UTILS)
    monkeypatch.delenv(quiet.OFF, raising=False)
    pebble = pebble_factory()
    (tmp_path / "textfile").mkdir()
    doc = pebble_config(pebble, tmp_path, status={"prometheus_file": str(tmp_path / "textfile" / "mdfleet.prom")})
    config = tmp_path / "config.json"
    config.write_text(json.dumps(doc))
    first = drive(config)
    assert first.code == 0, first.err
    settle(config)
    return config, doc


def settle(config: Path) -> Drive:
    """Drives until one is replayed (the run after a change writes, the next is quiet)."""
    for _attempt in range(3):
        got = drive(config)
        assert got.code == 0, got.err
        if got.replayed:
            return got
    raise AssertionError("no drive was replayed")


def store_of(config: Path) -> Path:
    return Path(json.loads(config.read_text())["store"])


def test_an_idle_drive_is_replayed_with_the_same_output_and_fresh_status_pages(host):
    config, _doc = host
    store = store_of(config)
    full = drive(config, MDFLEET_NO_QUIET="1")
    assert not full.replayed and full.code == 0
    settle(config)
    before = json.loads((store / "status" / "md-status.json").read_text())["generated-unix"]
    prom_before = (store / "status" / "mdfleet.prom").read_text()
    os.utime(store / "status" / "md-status.json", (0, 0))  # a page the replay writes whatever it holds
    again = drive(config)
    assert again.replayed and again.code == 0
    assert again.out == full.out and "one" in again.out and "two" in again.out
    doc = json.loads((store / "status" / "md-status.json").read_text())
    assert doc["generated-unix"] >= before and [md["name"] for md in doc["managed-domains"]] == ["one", "two"]
    textfile = (config.parent / "textfile" / "mdfleet.prom").read_text()
    assert textfile == (store / "status" / "mdfleet.prom").read_text()
    assert textfile.count("x509_cert_expires_in_seconds{") == prom_before.count("x509_cert_expires_in_seconds{") == 3
    assert (store / quiet.MEMO_FILE).stat().st_mode & 0o777 == 0o600


def test_the_json_report_is_never_replayed(host):
    """Its status_files say which pages changed: that depends on the second they are written in."""
    config, _doc = host
    for _run in range(2):
        got = drive(config, "--json")
        assert not got.replayed and got.code == 0 and "status_files" in json.loads(got.out)
    assert drive(config).replayed  # and it leaves the plain drive's memo alone


def corrupt_cert(store: Path) -> None:
    path = store / "domains" / "one" / "p256" / "cert.pem"
    data = path.read_bytes()
    with open(path, "r+b") as handle:  # in place: the folder does not change, the file does
        handle.write(data[:40] + bytes([data[40] ^ 1]) + data[41:])


def drop_domain_status(store: Path) -> None:
    (store / "status" / "domains" / "two.json").unlink()


def new_env(_store: Path) -> dict:
    return {"MDFLEET_SOMETHING": "1"}


@pytest.mark.parametrize("change", ["certificate changed in place", "status file removed", "config changed",
                                    "environment changed", "memo corrupt", "memo truncated", "another config file"])
def test_every_change_makes_the_next_drive_a_full_run(host, change, tmp_path):
    config, doc = host
    store = store_of(config)
    env: dict = {}
    memo = store / quiet.MEMO_FILE
    if change == "certificate changed in place":
        corrupt_cert(store)
    elif change == "status file removed":
        drop_domain_status(store)
    elif change == "config changed":
        doc["domains"][0]["renew_window"] = "40d"
        config.write_text(json.dumps(doc))
    elif change == "environment changed":
        env = new_env(store)
    elif change == "memo corrupt":
        data = bytearray(memo.read_bytes())
        data[len(data) // 2] ^= 0xFF
        memo.write_bytes(bytes(data))
    elif change == "memo truncated":
        memo.write_bytes(memo.read_bytes()[:100])
    elif change == "another config file":
        other = tmp_path / "other-config.json"
        other.write_text(json.dumps(dict(doc, store=str(store))))  # same store, another config file
        got = drive(other)
        assert not got.replayed and got.code == 0
        return
    got = drive(config, **env)
    assert not got.replayed, change
    if change == "certificate changed in place":
        assert got.code == 4 and "one" in got.err  # damaged, replaced by a new order: degraded, still serving
        assert not memo.exists()  # that run did something: no memo
    else:
        assert got.code == 0, got.err
    if change == "status file removed":
        assert (store / "status" / "domains" / "two.json").exists()


def test_a_locked_store_is_never_replayed(host):
    config, _doc = host
    store = store_of(config)
    with open(store / "store.lock", "r+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out = quiet.replay(["--config", str(config), "drive"], Sink(), Sink())
    assert out is None
    assert quiet.replay(["--config", str(config), "drive"], Sink(), Sink()) == 0


class Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_the_memo_holds_only_between_its_run_and_its_horizon(host):
    config, _doc = host
    store = store_of(config)
    data = (store / quiet.MEMO_FILE).read_bytes()
    doc = quiet._decode(data)
    made, until = doc[1], doc[2]
    assert made < until <= made + quiet.MAX_AGE
    argv = ["--config", str(config), "drive"]
    assert quiet.replay(argv, Sink(), Sink(), now=made - 1) is None  # a clock set back
    assert quiet.replay(argv, Sink(), Sink(), now=until) is None
    out = Sink()
    assert quiet.replay(argv, out, Sink(), now=until - 1) == 0 and "one" in out.text


def test_the_horizon_is_no_later_than_the_next_renewal(host):
    """A renew window that makes a domain due in half an hour: the memo ends before that."""
    config, doc = host
    store = store_of(config)
    facts = json.loads((store / "domains" / "one" / "set.json").read_text())["certs"]["p256"]
    from mdcore.clock import Clock, from_iso

    left = (from_iso(facts["not_after"]) - Clock().now()).total_seconds()
    doc["domains"][0]["renew_window"] = "%dh" % int((left - 1800) // 3600)  # due in 30-90 minutes
    config.write_text(json.dumps(doc))
    settle(config)
    memo = quiet._decode((store / quiet.MEMO_FILE).read_bytes())
    assert memo[2] <= memo[1] + 5400
    got = drive(config, MDFLEET_NO_QUIET="1")
    renew_at = [line.split("renew-at ")[1] for line in got.out.splitlines() if line.startswith("one ")][0]
    assert memo[2] <= from_iso(renew_at).timestamp()


def test_a_renewal_in_between_makes_the_next_drive_a_full_run(host):
    config, _doc = host
    store = store_of(config)
    environ = dict(os.environ, PYTHONPATH=UTILS)
    proc = subprocess.run([sys.executable, "-m", "mdcore", "--config", str(config), "renew", "--force", "one"],
                          env=environ, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    got = drive(config)  # the renewal changed the set: a full run, which reloads nothing but writes status
    assert not got.replayed
    assert drive(config).replayed or drive(config).replayed
    assert (store / quiet.MEMO_FILE).exists()


def with_env(memo: Path, **env: str) -> None:
    """The memo, as if made by a run with ``env`` too (a fault test's variables are part of a
    memo's environment: a replay under them needs a memo made under them)."""
    import marshal
    import zlib

    doc = list(quiet._decode(memo.read_bytes()))
    header = list(doc[0])
    header[-1] = tuple(sorted(dict(header[-1], **env).items()))
    doc[0] = tuple(header)
    payload = marshal.dumps(tuple(doc))
    memo.write_bytes(quiet.MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)


def test_a_replay_killed_at_any_write_point_leaves_a_store_the_next_run_repairs(host, tmp_path):
    config, _doc = host
    store = store_of(config)
    trace = tmp_path / "trace"
    with_env(store / quiet.MEMO_FILE, MDFLEET_FAULT_TRACE=str(trace))
    traced = drive(config, MDFLEET_FAULT_TRACE=str(trace))
    assert traced.replayed and traced.code == 0
    points = trace.read_text().splitlines()
    assert len(points) >= 6 and all("/status/" in p or "/textfile/" in p for p in points)  # pages only
    pristine = tmp_path / "pristine"
    import shutil

    settle(config)
    shutil.copytree(store, pristine, symlinks=True)
    for number in range(1, len(points) + 1):
        shutil.rmtree(store)
        shutil.copytree(pristine, store, symlinks=True)
        with_env(store / quiet.MEMO_FILE, MDFLEET_FAULT_KILL_AT=str(number))
        killed = drive(config, MDFLEET_FAULT_KILL_AT=str(number))
        assert killed.code == -9, (number, killed.err)
        assert not (store / ".clean-exit").exists()
        after = drive(config)
        assert not after.replayed and after.code == 0, (number, after.err)  # the full run cleans up
        leftovers = [p for p in (store / "status").iterdir() if p.name.startswith(".tmp-")]
        assert not leftovers, (number, leftovers)
        json.loads((store / "status" / "md-status.json").read_text())
        assert drive(config).replayed or drive(config).replayed


def test_the_role_s_zipapp_replays_too(host, tmp_path):
    """The mdfleet command on hosts is the engine's zipapp (plugins/plugin_utils/engine_zipapp.py),
    run by Debian's python3 -I: its idle drives are answered from the memo as well."""
    import importlib.util

    config, _doc = host
    spec = importlib.util.spec_from_file_location(
        "engine_zipapp", Path(UTILS).parent / "plugin_utils" / "engine_zipapp.py")
    builder = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = builder  # dataclasses look their module up there
    spec.loader.exec_module(builder)
    app = tmp_path / "mdfleet.pyz"
    app.write_bytes(builder.build(str(Path(UTILS) / "mdcore"), "/usr/bin/python3", str(app)).data)
    app.chmod(0o755)
    runs = []
    for _run in range(3):
        proc = subprocess.run(["/usr/bin/python3", "-X", "importtime", str(app), "--config", str(config), "drive"],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        runs.append(Drive(proc))
    assert not runs[0].replayed and runs[-1].replayed  # another engine first, then its memo
    assert runs[-1].out == runs[0].out


def status(config: Path, *args: str, **env: str) -> Drive:
    return mdfleet(config, "status", *args, **env)


def without_times(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("generated", "generated-unix")}


def stable_series(text: str) -> list[str]:
    """The Prometheus lines that do not change from one second to the next."""
    return [line for line in text.splitlines()
            if not line.startswith(("x509_cert_expires_in_seconds", "x509_cert_valid_since_seconds",
                                    "mdfleet_status_generated_timestamp_seconds"))]


@pytest.mark.parametrize("view", ["--json", "--prometheus", "--html", None, "--key-names=mdfleet"])
def test_status_after_a_quiet_drive_is_answered_from_the_memo_as_the_full_command_answers(host, view):
    config, _doc = host
    args = [view] if view else []
    full = status(config, *args, MDFLEET_NO_QUIET="1")
    got = status(config, *args)
    assert not full.replayed and got.replayed and full.code == got.code == 0 and got.err == full.err == ""
    if view == "--prometheus":
        assert stable_series(got.out) == stable_series(full.out) and "mdfleet_status_generated" in got.out
    elif view == "--html":
        assert got.out.startswith("<!DOCTYPE html>") and "one" in got.out and got.out.count("<tr") == \
            full.out.count("<tr")
    else:
        mine, theirs = json.loads(got.out), json.loads(full.out)
        assert without_times(mine) == without_times(theirs) and mine["generated-unix"] >= theirs["generated-unix"]
        assert got.out.endswith("}\n") and list(mine) == list(theirs)  # md-status.json's text, key for key


def test_status_is_built_again_when_anything_changed_or_a_run_is_at_work(host):
    config, _doc = host
    store = store_of(config)
    other = status(config, "--key-names", "mod_md")  # not what the drive wrote: built
    assert not other.replayed and other.code == 0 and "secp256r1" in other.out
    (store / ".clean-exit").unlink()  # a run at work (or killed): its files may be half done
    busy = status(config)
    assert not busy.replayed and busy.code == 0 and json.loads(busy.out)["managed-domains"]
    settle(config)
    corrupt_cert(store)
    changed = status(config, "--json")
    assert not changed.replayed and changed.code == 0
    assert quiet.replay_status(["--config", str(config), "status"], Sink()) is None


@pytest.mark.parametrize("argv, wanted", [
    (["status"], ("/etc/mdfleet/config.json", "json", None)),
    (["--config", "c", "status", "--prometheus"], ("c", "prometheus", None)),
    (["--config=c", "status", "--key-names", "mod_md", "--json"], ("c", "json", "mod_md")),
    (["status", "--json", "--html"], None),  # the CLI says what is wrong with it
    (["status", "--key-names"], None),
    (["status", "extra"], None),
    (["drive"], None),
])
def test_which_status_commands_the_memo_may_answer(argv, wanted):
    assert quiet.status_request(argv) == wanted
