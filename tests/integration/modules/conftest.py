"""Run the collection's modules through real ansible-playbook against the peers of tests/integration."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from integration.ansible_run import on_localhost

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<tmp>/ansible_collections/mdfleet/md -> the repo, as Ansible wants to find the collection."""
    root = tmp_path_factory.mktemp("collections")
    ns = root / "ansible_collections" / "mdfleet"
    ns.mkdir(parents=True)
    (ns / "md").symlink_to(REPO)
    return root


PlaybookRunner = Callable[..., tuple[subprocess.CompletedProcess, dict]]


@pytest.fixture
def run_playbook(collections_path: Path, tmp_path: Path) -> PlaybookRunner:
    """run(tasks_yaml, check=False, verbosity=0) -> (process, {task name: result}) using the json
    callback, so tests assert on what Ansible reports, not on text."""

    def run(tasks: str, check: bool = False, verbosity: int = 0, python: str = sys.executable):
        book = tmp_path / "play.yml"
        book.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
        extra = (["--check"] if check else []) + (["-" + "v" * verbosity] if verbosity else [])
        return on_localhost(collections_path, book, python, *extra)

    return run
