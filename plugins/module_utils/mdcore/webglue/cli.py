"""The `mdfleet webglue` subcommands. Exit codes: the config test's or reload's own, 1 when haproxy
does not serve the new certificates in time; errors (MdError) are mdfleet's: 1, and 2 for a bad
glue config."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from ..clock import Clock
from .config import GlueConfig, load_glue_config

GLUE_FILE = "webglue.json"  # beside config.json, written by the role


def add_parser(sub) -> None:
    glue = sub.add_parser("webglue", help="web server glue: write its files from the store, test, reload")
    glue.add_argument("--file", help="the glue config (JSON; default: %s beside --config)" % GLUE_FILE)
    actions = glue.add_subparsers(dest="glue_command", required=True)
    sync = actions.add_parser("sync", help="write the web server's files, then run its config test")
    sync.add_argument("--no-test", action="store_true", help="only write the files")
    reload = actions.add_parser("reload", help="reload; haproxy: wait until it serves the new certificates")
    reload.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (default %(default)s)")
    reload.add_argument("--test", action="store_true",
                        help="first write the files and run the config test (as sync does); reload only if it passes")


def main(args: argparse.Namespace, clock: Clock, out: TextIO, err: TextIO) -> int:
    """Run `webglue sync` or `webglue reload [--test]`; raises MdError (the caller reports it)."""
    from .commands import reload_and_wait  # the glue itself: only for this command (every command builds the parser)

    cfg = load_glue_config(args.file or os.path.join(os.path.dirname(os.path.abspath(args.config)), GLUE_FILE))
    if args.glue_command == "reload":
        if args.test:  # one command for the role's handler: a failed test never reaches the reload
            code = _sync(cfg, clock, out, err, test=True)
            if code != 0:
                return code
        code, missing = reload_and_wait(cfg, clock, args.timeout)
        if missing:
            err.write("mdfleet webglue: haproxy does not serve %s after %gs\n" % (", ".join(missing), args.timeout))
        return code
    return _sync(cfg, clock, out, err, test=not args.no_test)


def _sync(cfg: GlueConfig, clock: Clock, out: TextIO, err: TextIO, test: bool) -> int:
    """Write the files (a JSON line of the changed ones), then run the config test if asked."""
    from .commands import run_command, sync_files

    result = sync_files(cfg, clock)
    out.write(json.dumps({"changed": result.changed}) + "\n")
    out.flush()
    for note in result.notes:
        err.write("mdfleet webglue: %s\n" % note)
    if not test or not cfg.test_command:
        return 0
    return run_command(cfg.test_command)


__all__ = ["add_parser", "main", "GLUE_FILE"]
