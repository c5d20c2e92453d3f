"""`python3 -m mdcore` is the `mdfleet` host command (the role's zipapp runs command() too).

An idle `drive` is answered from the quiet memo when nothing it depends on changed (quiet.py):
that check imports only the standard library, so it comes before the CLI's imports.
"""

import sys

from .quiet import replay


def command() -> int:
    code = replay(sys.argv[1:], sys.stdout, sys.stderr)
    if code is None:
        from .cli import main

        code = main(quiet_memo=True)
    return code


if __name__ == "__main__":
    raise SystemExit(command())
