"""`python3 -m mdcore` is the `mdfleet` host command (the role's zipapp runs command() too).

An idle `drive`, and `status` after one, are answered from the quiet memo when nothing they depend
on changed (quiet.py): that check imports only the standard library, so it comes before the CLI's
imports.
"""

import sys

from .quiet import replay, replay_status


def command() -> int:
    argv = sys.argv[1:]
    code = replay(argv, sys.stdout, sys.stderr)
    if code is None:
        code = replay_status(argv, sys.stdout)
    if code is None:
        from .cli import main

        code = main(quiet_memo=True)
    return code


if __name__ == "__main__":
    raise SystemExit(command())
