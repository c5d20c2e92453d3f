"""plugins/module_utils/bytecache.py: this collection's module_utils imported from a zip (as from an AnsiballZ
payload) are compiled once per source and user, then loaded from the cache; a cache that is missing,
corrupt, not the user's own, a link or not writable is compiled around, never trusted. Each case runs in a
fresh interpreter (the one running the tests: venv, or Debian's python3 under make pytest-debian) that
imports the probe from a zip at a new path, as each module run does."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UTILS = "ansible_collections/mdfleet/md/plugins/module_utils/"
PROBE_SOURCE = '''"""A module of the collection's module_utils."""
VALUE = sum(range(10))


def fail():
    raise RuntimeError("from the probe")
'''
# Imports the probe as a module does (the cache first), then tells what ran: the probe's value, its loader,
# the file a traceback names, and how often compile() ran for it (packages' __init__ are zipimport's).
RUN = r'''
import builtins, json, sys, traceback
sys.path.insert(0, sys.argv[1])
compiled = []
real = builtins.compile
def counting(source, filename, *args, **kwargs):
    if str(filename).endswith("/probe/thing.py"):
        compiled.append("thing.py")
    return real(source, filename, *args, **kwargs)
builtins.compile = counting
from ansible_collections.mdfleet.md.plugins.module_utils import bytecache
from ansible_collections.mdfleet.md.plugins.module_utils.probe import thing
try:
    thing.fail()
except RuntimeError:
    where = traceback.extract_tb(sys.exc_info()[2])[-1]
print(json.dumps({"value": thing.VALUE, "loader": type(thing.__loader__).__name__, "file": where.filename,
                  "line": where.line, "compiled": compiled}))
'''


def _zip(folder: Path, source: str = PROBE_SOURCE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "modlib.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in ("ansible_collections/", "ansible_collections/mdfleet/", "ansible_collections/mdfleet/md/",
                    "ansible_collections/mdfleet/md/plugins/", UTILS, UTILS + "probe/"):
            zf.writestr(pkg + "__init__.py", "")
        zf.write(ROOT / "plugins" / "module_utils" / "bytecache.py", UTILS + "bytecache.py")
        zf.writestr(UTILS + "probe/thing.py", source)
    return path


def _run(zip_path: Path, cache: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MDFLEET_BYTECODE_CACHE"}
    if cache is not None:
        env["MDFLEET_BYTECODE_CACHE"] = cache
    proc = subprocess.run([sys.executable, "-c", RUN, str(zip_path)], capture_output=True, text=True, timeout=60,
                          check=False, env=env, cwd=str(zip_path.parent))
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in zip_path.parent.iterdir()] == ["modlib.zip"]  # nothing written where it runs
    return json.loads(proc.stdout)


def _entry(cache: Path, source: str = PROBE_SOURCE) -> Path:
    return cache / hashlib.sha256(source.encode()).hexdigest()


def _valid(entry: Path, source: str = PROBE_SOURCE) -> bool:
    """The entry holds the magic number, the source's digest and the digest of its marshalled code."""
    data = entry.read_bytes()
    head = importlib.util.MAGIC_NUMBER + hashlib.sha256(source.encode()).digest()
    return data[:36] == head and data[36:68] == hashlib.sha256(data[68:]).digest() and len(data) > 68


def _expected(zip_path: Path) -> dict:
    return {"value": 45, "loader": "_Loader", "file": str(zip_path / UTILS / "probe" / "thing.py"),
            "line": 'raise RuntimeError("from the probe")'}


def _without_compiled(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "compiled"}


def test_a_miss_compiles_and_stores_then_a_hit_runs_the_same_without_compiling(tmp_path):
    cache = tmp_path / "home" / "cache"
    first = _run(_zip(tmp_path / "run1"), str(cache))
    assert _without_compiled(first) == _expected(tmp_path / "run1" / "modlib.zip")
    assert "thing.py" in first["compiled"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700 and stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    entry = _entry(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and entry.stat().st_uid == os.geteuid()
    assert _valid(entry)
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]

    second_zip = _zip(tmp_path / "run2")  # the next run's payload: another path, the same source
    second = _run(second_zip, str(cache))
    assert second["compiled"] == []  # it came from the cache
    assert _without_compiled(second) == _expected(second_zip)  # tracebacks name this run's zip and line


def test_changed_source_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    _run(_zip(tmp_path / "run1"), str(cache))
    changed = PROBE_SOURCE.replace("range(10)", "range(11)")
    result = _run(_zip(tmp_path / "run2", changed), str(cache))
    assert result["value"] == 55 and result["compiled"] == ["thing.py"]
    assert _entry(cache).is_file() and _entry(cache, changed).is_file()


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "garbage", "empty", "other magic"])
def test_a_corrupt_entry_is_compiled_again_and_replaced(tmp_path, damage):
    cache = tmp_path / "cache"
    _run(_zip(tmp_path / "run1"), str(cache))
    entry = _entry(cache)
    good = entry.read_bytes()
    bad = {"truncated": good[:len(good) // 2], "flipped byte": good[:-20] + bytes([good[-20] ^ 0x40]) + good[-19:],
           "garbage": os.urandom(len(good)), "empty": b"", "other magic": b"\x00\x00\r\n" + good[4:]}[damage]
    entry.write_bytes(bad)
    result = _run(_zip(tmp_path / "run2"), str(cache))
    assert _without_compiled(result) == _expected(tmp_path / "run2" / "modlib.zip")
    assert result["compiled"] == ["thing.py"]
    assert _valid(entry) and stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_an_entry_others_could_have_written_is_not_used(tmp_path):
    cache = tmp_path / "cache"
    _run(_zip(tmp_path / "run1"), str(cache))
    entry = _entry(cache)
    entry.chmod(0o644)
    result = _run(_zip(tmp_path / "run2"), str(cache))
    assert result["compiled"] == ["thing.py"] and result["value"] == 45
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600  # replaced by a 0600 one


def test_a_linked_entry_is_not_followed(tmp_path):
    cache = tmp_path / "cache"
    _run(_zip(tmp_path / "run1"), str(cache))
    entry = _entry(cache)
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    result = _run(_zip(tmp_path / "run2"), str(cache))
    assert result["compiled"] == ["thing.py"] and result["value"] == 45
    assert not entry.is_symlink()  # replaced by a file of its own


def test_a_linked_cache_folder_is_not_used(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "cache"
    link.symlink_to(real)
    for run in ("run1", "run2"):
        result = _run(_zip(tmp_path / run), str(link))
        assert _without_compiled(result) == _expected(tmp_path / run / "modlib.zip")
        assert result["compiled"] == ["thing.py"]
    assert list(real.iterdir()) == []


def test_a_cache_folder_open_to_others_is_not_used(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o770)
    for run in ("run1", "run2"):
        assert _run(_zip(tmp_path / run), str(cache))["compiled"] == ["thing.py"]
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the folder and the entry to another user")
def test_a_cache_folder_or_entry_of_another_user_is_not_used(tmp_path):
    cache = tmp_path / "cache"
    _run(_zip(tmp_path / "run1"), str(cache))
    entry = _entry(cache)
    os.chown(entry, 65534, -1)
    result = _run(_zip(tmp_path / "run2"), str(cache))
    assert result["compiled"] == ["thing.py"] and entry.stat().st_uid == 0  # replaced by one of root's
    os.chown(cache, 65534, -1)
    entry.unlink()
    result = _run(_zip(tmp_path / "run3"), str(cache))
    assert result["compiled"] == ["thing.py"] and list(cache.iterdir()) == []


def test_no_writable_cache_folder_still_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for run in ("run1", "run2"):
        result = _run(_zip(tmp_path / run), str(blocker / "cache"))
        assert _without_compiled(result) == _expected(tmp_path / run / "modlib.zip")
        assert result["compiled"] == ["thing.py"]


def test_off_leaves_zipimport_alone(tmp_path):
    result = _run(_zip(tmp_path / "run1"), "off")
    assert result["loader"] == "zipimporter" and result["value"] == 45


def test_modules_outside_a_zip_keep_their_loader(tmp_path):
    """Imported from a folder (the controller, tests, ansible-test), the engine keeps its usual loader."""
    cache = tmp_path / "cache"
    link = tmp_path / "ac" / "ansible_collections" / "mdfleet" / "md"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    code = ("from ansible_collections.mdfleet.md.plugins.module_utils import bytecache\n"
            "from ansible_collections.mdfleet.md.plugins.module_utils.mdcore import timefmt\n"
            "print(type(timefmt.__loader__).__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, MDFLEET_BYTECODE_CACHE=str(cache), PYTHONPATH=str(tmp_path / "ac")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "SourceFileLoader" and not cache.exists()


def test_the_default_folder_is_the_effective_users(monkeypatch):
    spec = importlib.util.spec_from_file_location("bytecache_alone", ROOT / "plugins" / "module_utils" / "bytecache.py")
    bytecache = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # what its import installs goes with the test
    spec.loader.exec_module(bytecache)
    monkeypatch.delenv("MDFLEET_BYTECODE_CACHE", raising=False)
    home = pwd.getpwuid(os.geteuid()).pw_dir
    assert bytecache.cache_folder() == os.path.join(home, ".cache", "mdfleet", "bytecode")
    monkeypatch.setenv("MDFLEET_BYTECODE_CACHE", "off")
    assert bytecache.cache_folder() is None
