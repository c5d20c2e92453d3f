"""The arguments of the fleet's `mdfleet` subcommands (fleet/commands.py runs them). Apart from
the commands, so that every `mdfleet` command can build its parser without importing the fleet's
bundle, account and set machinery (cryptography, the ACME client)."""

from __future__ import annotations

import argparse

COMMANDS = ("fleet-state", "export", "import", "account")


def add_parsers(sub) -> None:
    """The fleet subcommands, on the `mdfleet` parser's subparsers."""
    state = sub.add_parser("fleet-state", help="public identities of this host's shared sets and accounts (JSON)")
    state.add_argument("--json", action="store_true", help="JSON (the only format)")
    export = sub.add_parser("export", help="a shared set or an account as a bundle on stdout (holds a private key)")
    what = export.add_subparsers(dest="what", required=True)
    one_set = what.add_parser("set", help="the active set of a shared domain issued here")
    one_set.add_argument("md")
    account = what.add_parser("account", help="this store's ACME account for a CA")
    _ca_args(account)
    imp = sub.add_parser("import", help="import a bundle (set or account) from stdin")
    imp.add_argument("source", nargs="?", default="-", choices=["-"], help="'-': the bundle comes on stdin")
    imp.add_argument("--check", action="store_true", help="verify and say what would be done; write nothing")
    imp.add_argument("--json", action="store_true")
    acct = sub.add_parser("account", help="the fleet's ACME accounts")
    verbs = acct.add_subparsers(dest="verb", required=True)
    ensure = verbs.add_parser("ensure", help="register (or find) the account of every CA this host holds")
    ensure.add_argument("--json", action="store_true")
    key = verbs.add_parser("import-key", help="use the account key on stdin (PEM) for a CA before registering")
    _ca_args(key)
    key.add_argument("source", nargs="?", default="-", choices=["-"])
    key.add_argument("--check", action="store_true")
    key.add_argument("--json", action="store_true")
    roll = verbs.add_parser("rollover", help="replace the account key at the CA (RFC 8555 key change)")
    _ca_args(roll)
    roll.add_argument("--json", action="store_true")


def _ca_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca", required=True, metavar="URL", help="ACME directory URL")
    parser.add_argument("--eab-kid", default=None, metavar="KID", help="External Account Binding key id")
