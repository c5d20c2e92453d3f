"""Shared by every test folder: import paths, and peer logs attached to failing tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType

import pytest

from peers.process import RUNNING, Peer  # importable through pytest.ini's pythonpath

ROOT = Path(__file__).resolve().parents[1]

_marks = pytest.StashKey[dict[int, dict[Path, int]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Remember where each running peer's log is, so a failure shows only this test's lines.
    item.stash[_marks] = {id(p): p.mark() for p in RUNNING}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    marks = item.stash.get(_marks, {})
    peers: list[Peer] = list(RUNNING)
    for peer in peers:
        text = peer.since(marks.get(id(peer), {}))
        if text:
            report.sections.append((f"{peer.name} log ({report.when})", text))


@pytest.fixture(scope="session", autouse=True)
def _bytecode_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Generator[None, None, None]:
    """Modules the tests run through Ansible keep their bytecode cache (plugins/module_utils/bytecache.py)
    in the session's tmp, not in the home of the user running the tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MDFLEET_BYTECODE_CACHE", str(tmp_path_factory.mktemp("bytecode")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def ansible_collections_dir(tmp_path_factory: pytest.TempPathFactory) -> Generator[Path, None, None]:
    """<tmp>/ansible_collections/mdfleet/md -> this checkout; ANSIBLE_COLLECTIONS_PATH points there.

    For tests that run modules/roles through Ansible: the repo root IS the collection, but
    Ansible finds collections only inside an ansible_collections/<ns>/<name> tree.
    """
    base = tmp_path_factory.mktemp("collections")
    link = base / "ansible_collections" / "mdfleet" / "md"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    mp = pytest.MonkeyPatch()
    mp.setenv("ANSIBLE_COLLECTIONS_PATH", str(base))
    yield base
    mp.undo()


@pytest.fixture(scope="session")
def collection_plugin(ansible_collections_dir: Path) -> Callable[[str], ModuleType]:
    """collection_plugin("plugins.filter.managed_domains") -> that module of this collection, imported
    as Ansible imports it (ansible_collections.mdfleet.md.<name>)."""

    def load(name: str) -> ModuleType:
        sys.path.insert(0, str(ansible_collections_dir))
        try:
            return importlib.import_module("ansible_collections.mdfleet.md." + name)
        finally:
            sys.path.remove(str(ansible_collections_dir))

    return load
