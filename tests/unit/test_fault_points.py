"""The engine's write points (mdcore.faults) as the fault suite uses them: traced, and the N-th one
kills the process with SIGKILL; without the variables nothing happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")
WRITE = ("import sys; from mdcore.fsutil import atomic_write; "
         "atomic_write(sys.argv[1], b'x'); atomic_write(sys.argv[1], b'y')")


def _run(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WRITE, str(tmp_path / "f")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=UTILS, **env), timeout=60, check=False)


def test_points_are_traced_and_the_nth_kills(tmp_path) -> None:
    trace = tmp_path / "trace"
    assert _run(tmp_path, MDFLEET_FAULT_TRACE=str(trace)).returncode == 0
    lines = trace.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["temp", "replace", "temp", "replace"]
    assert lines[1].endswith(str(tmp_path / "f"))
    killed = _run(tmp_path, MDFLEET_FAULT_KILL_AT="3")
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "f").read_text() == "x"  # the second write never happened
    assert [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]  # what recover() removes


def test_no_points_without_the_variables(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDFLEET_FAULT")}
    proc = subprocess.run([sys.executable, "-c", WRITE, str(tmp_path / "f")], env=dict(env, PYTHONPATH=UTILS),
                          timeout=60, check=False)
    assert proc.returncode == 0 and (tmp_path / "f").read_text() == "y"
