"""fsutil.atomic_write_many: several files of one folder with one fsync of the folder; every file
is fsynced before any is renamed, the renames keep the order given (the last file new only when
the others are), the fault suite's points are a temp and a replace per file, a failure leaves
no temp file and the old files as they were."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from mdcore import fsutil

UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")
FILES = [("cert.pem", b"leaf", 0o644), ("chain.pem", b"chain", 0o644), ("fullchain.pem", b"leaf+chain", 0o600)]


def test_all_files_are_synced_then_renamed_in_order_with_one_folder_sync(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append("fsync-dir" if os.path.isdir("/proc/self/fd/%d" % fd) else "fsync-file")
        return real_fsync(fd)

    def replace(src, dst):
        calls.append("replace " + os.path.basename(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    fsutil.atomic_write_many(str(tmp_path), FILES)
    assert calls == ["fsync-file"] * 3 + ["replace cert.pem", "replace chain.pem", "replace fullchain.pem",
                                          "fsync-dir"]
    for name, data, mode in FILES:
        assert (tmp_path / name).read_bytes() == data
        assert os.stat(tmp_path / name).st_mode & 0o777 == mode
    assert sorted(os.listdir(tmp_path)) == sorted(name for name, _d, _m in FILES)


def test_a_failing_write_leaves_the_old_files_and_no_temp_file(tmp_path, monkeypatch):
    (tmp_path / "cert.pem").write_bytes(b"old")
    real_write = fsutil._write_all
    seen = []

    def full(fd, data):
        seen.append(data)
        if len(seen) == 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(fsutil, "_write_all", full)
    with pytest.raises(OSError, match="No space left on device") as failed:
        fsutil.atomic_write_many(str(tmp_path), FILES)
    assert failed.value.filename == str(tmp_path)  # the error names where it wrote
    assert os.listdir(tmp_path) == ["cert.pem"] and (tmp_path / "cert.pem").read_bytes() == b"old"


def test_the_fault_points_are_a_temp_and_a_replace_per_file(tmp_path):
    trace = tmp_path / "trace"
    folder = tmp_path / "set"
    folder.mkdir()
    code = ("import sys; from mdcore.fsutil import atomic_write_many; "
            "atomic_write_many(sys.argv[1], [('a', b'1', 0o644), ('b', b'2', 0o644)])")
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, timeout=60,
                   env=dict(os.environ, PYTHONPATH=UTILS, MDFLEET_FAULT_TRACE=str(trace)))
    points = [line.split()[1:] for line in trace.read_text().splitlines()]
    assert [p[0] for p in points] == ["temp", "temp", "replace", "replace"]
    assert [p[1] for p in points[2:]] == [str(folder / "a"), str(folder / "b")]


def test_a_flush_fsyncs_in_the_calling_thread_and_names_its_failure(tmp_path, monkeypatch):
    """fsutil.flush: each file fsynced in turn by the caller (threads at once cost 2-3x the CPU and
    the wall time on ext4: bench/README.md), then the folder; a file that cannot be opened is the error."""
    threads = set()
    real_fsync = os.fsync

    def fsync(fd):
        threads.add(threading.get_ident())
        return real_fsync(fd)

    paths = []
    for i in range(5):
        paths.append(str(tmp_path / ("f%d" % i)))
        fsutil.atomic_write(paths[-1], b"x", durable=False)
    monkeypatch.setattr(os, "fsync", fsync)
    fsutil.flush(paths, [str(tmp_path)])
    assert threads == {threading.get_ident()}
    with pytest.raises(FileNotFoundError) as caught:
        fsutil.flush(paths + [str(tmp_path / "gone")], [str(tmp_path)])
    assert caught.value.filename == str(tmp_path / "gone")
