"""`mdfleet dns-persist-record [md ...] [--check] [--json]`: the dns-persist-01 TXT records to
publish, one per validation name and CA, and (--check) whether DNS already has them right.

Reads the store without the lock and writes nothing; the only network use is one GET of a CA's
directory when the store does not know the CA's issuer domain name yet, and with --check the TXT
lookups.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from .acme.resources import ChallengeType
from .clock import Clock
from .config import MdConfig
from .errors import ConfigError, MdError
from .hostconfig import HostConfig
from .store import Store

COMMAND = "dns-persist-record"


def add_parser(sub) -> None:
    parser = sub.add_parser(COMMAND, help="print the dns-persist-01 TXT records to publish (all dns-persist-01 "
                                          "domains when none named)")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--check", action="store_true",
                        help="also look each record up and say whether the CA would accept what DNS has "
                             "(needs dnspython)")
    parser.add_argument("--json", action="store_true")


def _chosen(cfg: HostConfig, names: list[str]) -> list[MdConfig]:
    unknown = sorted(set(names) - {d.name for d in cfg.domains})
    if unknown:
        raise ConfigError("%s: no managed domain named %s" % (cfg.path, ", ".join(unknown)))
    if names:
        return [d for d in cfg.domains if d.name in names]
    chosen = [d for d in cfg.domains if d.challenge.type == ChallengeType.DNSPERSIST01]
    if not chosen:
        raise ConfigError("%s: no managed domain uses challenge dns-persist-01 (name one to see its record)"
                          % cfg.path)
    return chosen


def records(cfg: HostConfig, clock: Clock, names: list[str], check: bool) -> list[dict]:
    # the ACME and DNS sides (account store, directory fetch, dnspython) only for this command:
    # `mdfleet drive` builds this parser too and must not import them
    from . import dnsquery
    from .challenges.dnspersist01 import LOOKUP_SECONDS
    from .issuance import fetch_directory
    from .persist_records import check_published, records_for, remembered

    store = Store(cfg.store, clock, challenges_dir=cfg.challenges_dir)
    out = []
    for md in _chosen(cfg, names):
        entries = records_for(store, md, clock, lambda ca, md=md: fetch_directory(ca, md, clock))
        if check:
            if not dnsquery.available():
                raise MdError("--check looks the records up and needs %s" % dnsquery.DNSPYTHON_LABEL)
            servers = list(md.challenge.persist_options().resolvers)
            entries = [check_published(e, dnsquery.txt_values(e["name"], servers, LOOKUP_SECONDS),
                                       remembered(store, e["ca_url"]).get("offered"), clock.now())
                       for e in entries]
        out.extend(entries)
    return out


def _print_text(entries: list[dict], out: TextIO) -> None:
    for entry in entries:
        out.write("; %s via %s, for %s\n" % (entry["md"], entry["ca_url"], ", ".join(entry["identifiers"])))
        for note in entry["warnings"]:
            out.write("; warning: %s\n" % note)
        if entry["zone_line"]:
            out.write(entry["zone_line"] + "\n")
        for why in entry["missing"]:
            out.write("; not yet: %s\n" % why)
        if entry.get("published") is not None:
            out.write("; in DNS: %s\n" % ("yes" if entry["published"] else "NO - " + entry["problem"]))


def run(args: argparse.Namespace, cfg: HostConfig, clock: Clock, out: TextIO) -> int:
    """Exit 0 when every record could be given (and, with --check, is in DNS as the CA wants it)."""
    entries = records(cfg, clock, args.names, args.check)
    if args.json:
        out.write(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    else:
        _print_text(entries, out)
    incomplete = any(e["missing"] for e in entries) or any(e.get("published") is False for e in entries)
    return 1 if incomplete else 0


__all__ = ["COMMAND", "add_parser", "run", "records"]
