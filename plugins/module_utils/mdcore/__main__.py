"""`python3 -m mdcore` is the `mdfleet` host command.

An idle `drive` is answered from the quiet memo when nothing it depends on changed (quiet.py):
that check imports only the standard library, so it comes before the CLI's imports.
"""

import sys

from .quiet import replay

if __name__ == "__main__":
    CODE = replay(sys.argv[1:], sys.stdout, sys.stderr)
    if CODE is None:
        from .cli import main

        CODE = main(quiet_memo=True)
    raise SystemExit(CODE)
