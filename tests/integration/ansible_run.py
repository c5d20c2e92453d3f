"""Running ansible-playbook for the tests: the collection from a tmp ansible_collections tree, the
json callback, results as {task name: {host: result}} so tests assert on what Ansible reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

Run = tuple[subprocess.CompletedProcess, dict]


def ansible_playbook(collections: Path, book: Path, inventory: str = "localhost,", *extra: str,
                     timeout: float = 300, stdin: str | None = None, extra_env: dict[str, str] | None = None) -> Run:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", **(extra_env or {}))
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", inventory, str(book), *extra]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, input=stdin)
    results: dict = {}
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        for play in doc["plays"]:
            for task in play["tasks"]:
                name = task["task"]["name"]
                for host, res in task["hosts"].items():
                    results.setdefault(name, {})[host] = res
                    if " : " in name:  # a role's task: "<role> : <task>", also under its own name
                        results.setdefault(name.split(" : ", 1)[1], {})[host] = res
    except (ValueError, KeyError):
        pass
    return proc, results


def on_localhost(collections: Path, book: Path, python: str, *extra: str) -> Run:
    """A play for localhost over the local connection; results as {task name: result}."""
    proc, results = ansible_playbook(collections, book, "localhost,", "-c", "local", "-e",
                                     "ansible_python_interpreter=" + python, *extra)
    return proc, {name: hosts["localhost"] for name, hosts in results.items() if "localhost" in hosts}
