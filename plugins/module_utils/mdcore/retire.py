"""Managed domains the host configuration no longer lists are retired, not kept alive: their sets
leave the active store (no longer served through the store's paths, stapled, reported or announced)
and are kept in <store>/retired/ until `mdfleet retired --purge` deletes them.

Only a whole-host run retires (`mdfleet drive`, `renew` of every domain): it is the one that knows
the complete list of what this host manages. A module run for one domain never does."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import TextIO

from .clock import Clock, to_iso
from .store import Store

COMMAND = "retired"
STAMP = "%Y%m%dT%H%M%SZ"  # retired/<md>/<stamp>/: when it was retired (UTC)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(STAMP)


def _parse_stamp(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text, STAMP).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def retire_unconfigured(store: Store, configured: set[str], clock: Clock) -> list[dict]:
    """Retire what the store holds of domains not in ``configured`` (the caller holds the lock)."""
    when = _stamp(clock.now())
    out = []
    for md in store.stored_names():
        if md not in configured:
            out.append({"md": md, "folder": store.retire_md(md, when)})
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    retired = sub.add_parser(COMMAND, help="list (or purge) the sets of managed domains no longer configured")
    retired.add_argument("names", nargs="*", help="only these domains")
    retired.add_argument("--purge", action="store_true", help="delete them for good (keys included)")
    retired.add_argument("--older-than", type=float, metavar="DAYS", default=0.0,
                         help="with --purge: only those retired at least DAYS ago")
    retired.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, store: Store, clock: Clock, out: TextIO) -> int:
    """`mdfleet retired [--purge [--older-than DAYS]] [names]` (the caller holds the lock for --purge)."""
    now = clock.now()
    entries = []
    for md, when, folder in store.retired():
        if args.names and md not in args.names:
            continue
        at = _parse_stamp(when)
        old = at is not None and now - at >= datetime.timedelta(days=args.older_than)
        purged = bool(args.purge and old)
        if purged:
            store.purge_retired(folder)
        entries.append({"md": md, "retired_at": to_iso(at), "folder": folder, "purged": purged})
    if args.json:
        out.write(json.dumps({"retired": entries, "changed": any(e["purged"] for e in entries)}, indent=2) + "\n")
    else:
        for entry in entries:
            out.write("%-30s retired %s%s %s\n" % (entry["md"], entry["retired_at"] or "?",
                                                   " PURGED" if entry["purged"] else "", entry["folder"]))
    return 0


__all__ = ["retire_unconfigured", "COMMAND", "add_parser", "run"]
