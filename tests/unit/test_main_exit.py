"""mdcore.__main__.end: the host command's exit without the interpreter's teardown keeps what an
ordinary exit gives: the status, every byte written to stdout and stderr, a running thread's work,
and Python's status 120 when stdout cannot be flushed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

UTILS = str(Path(__file__).resolve().parents[2] / "plugins" / "module_utils")


def run(code: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter with the engine importable; SIGPIPE ignored, as Python does."""
    prelude = "import signal, sys; signal.signal(signal.SIGPIPE, signal.SIG_IGN); sys.path.insert(0, %r)\n" % UTILS
    return subprocess.run([sys.executable, "-I", "-c", prelude + code], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=60, check=False)


def test_the_status_and_all_buffered_output_survive_the_fast_exit() -> None:
    proc = run("import mdcore.__main__ as m\n"
               "sys.stdout.write('x' * 100000 + 'end')\n"  # more than one buffer, the rest unflushed
               "sys.stderr.write('told')\n"
               "m.end(3)\n"
               "print('never')")
    assert proc.returncode == 3
    assert proc.stdout == "x" * 100000 + "end" and proc.stderr == "told"


def test_none_exits_0_like_sys_exit() -> None:
    assert run("import mdcore.__main__ as m; m.end(None)").returncode == 0


def test_a_thread_still_running_gets_the_ordinary_exit_which_waits_for_it(tmp_path: Path) -> None:
    # The thread writes only once the main thread has ended, i.e. after end() returned control to
    # the interpreter: an os._exit there would kill it first and leave no file.
    done = tmp_path / "done"
    proc = run("import threading, mdcore.__main__ as m\n"
               "def work():\n"
               "    threading.main_thread().join(30)\n"
               "    open(%r, 'w').write('written')\n"
               "threading.Thread(target=work).start()\n"
               "m.end(4)" % str(done))
    assert proc.returncode == 4 and done.read_text() == "written", proc.stderr


@pytest.mark.parametrize("code, expected", [(0, 120), (2, 2)])
def test_stdout_that_cannot_be_flushed_exits_120_unless_the_run_failed(code: int, expected: int) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone: the flush meets EPIPE
    try:
        proc = run("import mdcore.__main__ as m\nsys.stdout.write('lost'); m.end(%d)" % code, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == expected and "Traceback" not in proc.stderr
