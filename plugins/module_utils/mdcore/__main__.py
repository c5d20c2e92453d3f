"""`python3 -m mdcore` is the `mdfleet` host command (the role's zipapp runs main() too).

An idle `drive`, and `status` after one, are answered from the quiet memo when nothing they depend
on changed (quiet.py): that check imports only the standard library, so it comes before the CLI's
imports.
"""

from __future__ import annotations

import os
import sys
import threading

from .quiet import replay, replay_status

# Python's own exit status when flushing stdout at exit fails (a closed pipe, a full disk).
EXIT_FLUSH_FAILED = 120


def command() -> int:
    argv = sys.argv[1:]
    code = replay(argv, sys.stdout, sys.stderr)
    if code is None:
        code = replay_status(argv, sys.stdout)
    if code is None:
        from .cli import main as cli_main

        code = cli_main(quiet_memo=True)
    return code


def main() -> None:
    """The process: command(), then end()."""
    end(command())


def end(code: int | None) -> None:
    """Exit with ``code`` once stdout and stderr are flushed, without the interpreter's teardown.

    Freeing every module and object and OpenSSL's exit cleanup took 40 ms after a renewal of 20
    domains (a tenth of the run after its start-up), in a process whose store files are all
    written, fsynced and closed by then: the engine registers no atexit handler and keeps no file
    open. A thread still running (none should be) gets the ordinary exit, which waits for it."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        raise SystemExit(code)
    code = code or 0  # what sys.exit(None) would give
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or EXIT_FLUSH_FAILED
    os._exit(code)


if __name__ == "__main__":
    main()
