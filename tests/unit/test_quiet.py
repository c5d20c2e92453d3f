"""quiet.py's recorder and memo file, without a CA: what a run looks at, writes and does is seen
whichever way it asks (os.stat, os.path, pathlib, open, os.open, listdir, scandir); the import
system's reads are not the run's; a run that wrote, ran a command or opened a socket leaves no
memo; a memo that does not decode is never used; only a plain `drive` is replayed."""

from __future__ import annotations

import importlib
import os
import pathlib
import socket
import subprocess
import sys

import pytest

from mdcore import horizon, quiet


@pytest.fixture
def recorder(tmp_path):
    """A recorder, started by the test once its files are made."""
    rec = quiet.Recorder()
    yield rec
    rec.stop()
    horizon.stop(0)


def test_every_way_of_looking_at_a_path_is_seen(recorder, tmp_path):
    (tmp_path / "a").write_text("a")
    os.mkdir(tmp_path / "folder")
    recorder.start()
    os.stat(tmp_path / "a")
    pathlib.Path(tmp_path / "b").exists()
    os.path.isdir(str(tmp_path / "c"))
    with open(tmp_path / "a") as handle:
        handle.read()
    os.close(os.open(str(tmp_path / "a"), os.O_RDONLY))
    os.listdir(tmp_path / "folder")
    with os.scandir(str(tmp_path)) as entries:
        list(entries)
    with pytest.raises(FileNotFoundError):
        os.lstat(str(tmp_path / "d").encode())
    recorder.stop()
    names = {os.path.relpath(p, tmp_path) for p in recorder.paths if p.startswith(str(tmp_path))}
    assert names == {"a", "b", "c", "d", "folder", "."}
    assert recorder.writes == [] and recorder.acts == []


def test_the_import_system_s_reads_are_not_the_run_s(recorder, tmp_path, monkeypatch):
    (tmp_path / "quiet_probe_module.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    recorder.start()
    importlib.import_module("quiet_probe_module")
    recorder.stop()
    assert not [p for p in recorder.paths if p.startswith(str(tmp_path))]


def test_writes_and_acts_are_seen(recorder, tmp_path):
    recorder.start()
    with open(tmp_path / "w", "w") as handle:
        handle.write("x")
    os.rename(tmp_path / "w", tmp_path / "v")
    os.remove(tmp_path / "v")
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    sock = socket.socket()
    try:
        with pytest.raises(OSError):
            sock.connect(("127.0.0.1", 9))  # discard: nobody listens
    finally:
        sock.close()
    recorder.stop()
    assert os.path.join(str(tmp_path), "w") in recorder.writes
    assert any(a.startswith("subprocess.Popen") for a in recorder.acts)
    assert any(a.startswith("socket.connect") for a in recorder.acts)


def test_a_run_that_wrote_leaves_no_memo_and_removes_an_old_one(recorder, tmp_path):
    store, config = tmp_path / "store", tmp_path / "config.json"
    store.mkdir()
    config.write_text("{}")
    (store / quiet.MEMO_FILE).write_bytes(b"an old memo")
    (tmp_path / "input").write_text("x")
    recorder.start()
    os.stat(tmp_path / "input")
    (tmp_path / "output").write_text("y")  # a write: not a quiet run
    recorder.stop()
    recorder.freeze(str(store))
    recorder.quiet = True
    assert not recorder.save(["--config", str(config), "drive"], str(config), 0.0, "", "", 0)
    assert not (store / quiet.MEMO_FILE).exists()


def test_a_quiet_run_leaves_a_memo_without_its_own_files_and_pages(recorder, tmp_path):
    store, config = tmp_path / "store", tmp_path / "config.json"
    (store / "status").mkdir(parents=True)
    config.write_text("{}")
    recorder.start()
    assert not os.path.exists(tmp_path / "input")  # looked for, missing
    for name in (quiet.LOCK_FILE, quiet.CLEAN_MARKER, ".probe-1-2"):
        with open(store / name, "w") as handle:  # the lock, its marker, the write probe: every run's
            handle.write("")
    open(store / "status" / "page.txt", "w").close()
    recorder.page(str(store / "status" / "page.txt"), ["text ", (0, 1.0, False)])
    recorder.stop()
    recorder.freeze(str(store))
    recorder.quiet = True
    assert recorder.save(["--config", str(config), "drive"], str(config), 1.0, "out", "", 0)
    doc = quiet._decode((store / quiet.MEMO_FILE).read_bytes())
    assert doc is not None and (store / quiet.MEMO_FILE).stat().st_mode & 0o777 == 0o600
    paths = set(doc[3])
    assert str(tmp_path / "input") in paths and doc[4][doc[3].index(str(tmp_path / "input"))] is None
    assert not {p for p in paths if p.startswith(str(store))}  # neither its own files nor the pages


@pytest.mark.parametrize("data", [b"", b"mdfleet quiet memo\n", b"mdfleet quiet memo\n\x00\x00\x00\x00xx",
                                  b"garbage" * 100])
def test_a_memo_that_does_not_decode_is_none(data):
    assert quiet._decode(data) is None


@pytest.mark.parametrize("argv, config", [
    (["drive"], "/etc/mdfleet/config.json"),
    (["--config", "/c.json", "drive"], "/c.json"),
    (["--config=/c.json", "drive"], "/c.json"),
    (["drive", "--json"], None),
    (["renew"], None),
    (["--config", "/c.json", "staple"], None),
    ([], None),
])
def test_only_a_plain_drive_is_replayed(argv, config):
    assert quiet.drive_config(argv) == config


def test_the_default_config_path_is_the_option_table_s():
    from mdcore.options.host import DEFAULT_CONFIG

    assert quiet.drive_config(["drive"]) == DEFAULT_CONFIG


def test_moments_are_noted_only_while_recording():
    horizon.note(5.0)
    horizon.start()
    horizon.note(None)
    horizon.note(3.0)
    horizon.note(10.0)
    assert horizon.stop(4.0) == 10.0  # 3.0 lay before the run: it was due in it
    horizon.note(1.0)
    assert horizon.stop(0.0) is None
