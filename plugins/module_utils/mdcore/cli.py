"""The `mdfleet` host command: drive, renew, staple, status, check-config.

Exit codes: 0 all fine, 1 something failed (details printed), 2 bad configuration or usage,
3 the store is locked by another run.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from typing import TextIO

from . import VERSION
from .clock import Clock
from .errors import ConfigError, MdError, StoreLockedError
from .hostconfig import HostConfig, load_host_config
from .manager import MdResult, drive_many
from .reload import ReloadResult, reload_server
from .store import Store

DEFAULT_CONFIG = "/etc/mdfleet/config.json"
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3


@dataclass
class RunReport:
    """What one run did, printed for people or as JSON for playbooks (renew_now.yml)."""

    domains: list[dict] = field(default_factory=list)
    reload: dict | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(d.get("changed") for d in self.domains) or bool(self.reload and
                                                                     self.reload.get("outcome") == "reloaded")


def _store(cfg: HostConfig, clock: Clock) -> Store:
    return Store(cfg.store, clock, challenges_dir=cfg.challenges_dir).setup()


def _acme(store: Store, cfg: HostConfig, clock: Clock, names: list[str] | None, force: bool,
          report: RunReport) -> bool:
    """Renew what is due (or the named domains); returns whether a new set was activated."""
    chosen = [d for d in cfg.domains if not names or d.name in names]
    unknown = sorted(set(names or []) - {d.name for d in cfg.domains})
    if unknown:
        raise ConfigError("%s: no managed domain named %s" % (cfg.path, ", ".join(unknown)))
    results = drive_many(store, chosen, clock, workers=cfg.workers, force=force)
    activated = False
    for md, res in zip(chosen, results, strict=True):
        if isinstance(res, MdResult):
            entry = asdict(res)
            activated = activated or res.changed
        else:
            entry = {"md": md.name, "changed": False, "error": str(res)}
            report.errors.append("%s: %s" % (md.name, res))
        report.domains.append(entry)
    return activated


def _reload(cfg: HostConfig, report: RunReport) -> None:
    result: ReloadResult = reload_server(cfg.reload)
    report.reload = asdict(result)
    if not result.ok:
        report.errors.append("web server not reloaded: %s" % result.detail)


def run_drive(cfg: HostConfig, clock: Clock, names: list[str] | None = None, force: bool = False) -> RunReport:
    report = RunReport()
    store = _store(cfg, clock)
    with store.lock(cfg.lock_wait):
        store.recover()
        if _acme(store, cfg, clock, names, force, report):
            _reload(cfg, report)
    return report


def _print(report: RunReport, as_json: bool, out: TextIO) -> None:
    if as_json:
        doc = asdict(report)
        doc["changed"] = report.changed
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    for entry in report.domains:
        if entry.get("error"):
            out.write("%-30s ERROR %s\n" % (entry["md"], entry["error"]))
        else:
            out.write("%-30s %-9s %s renew-at %s\n" % (entry["md"], entry["action"],
                                                       "; ".join(entry["reasons"]) or "-", entry.get("renew_at")))
    if report.reload and report.reload["outcome"] != "skipped":
        out.write("web server: %s %s\n" % (report.reload["outcome"], report.reload["detail"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mdfleet", description="ACME certificates, OCSP stapling and status "
                                     "for this host (mdfleet.md %s)" % VERSION)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="host configuration (JSON), default %(default)s")
    sub = parser.add_subparsers(dest="command", required=True)
    drive = sub.add_parser("drive", help="do all that is due: renew, activate, reload, staple, status")
    drive.add_argument("--json", action="store_true", help="print the run's report as JSON")
    renew = sub.add_parser("renew", help="renew the named managed domains (all when none named)")
    renew.add_argument("names", nargs="*")
    renew.add_argument("--force", action="store_true", help="renew even when not due")
    renew.add_argument("--json", action="store_true")
    sub.add_parser("check-config", help="validate the configuration and exit")
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; output goes to ``out``/``err`` (stdout/stderr by default)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    clock = Clock()
    try:
        cfg = load_host_config(args.config)
        if args.command == "check-config":
            out.write("%s: OK, %d managed domain(s)\n" % (cfg.path, len(cfg.domains)))
            return EXIT_OK
        if args.command == "drive":
            report = run_drive(cfg, clock)
        else:
            report = run_drive(cfg, clock, names=args.names or None, force=args.force)
    except StoreLockedError as exc:
        err.write("mdfleet: %s\n" % exc)
        return EXIT_LOCKED
    except ConfigError as exc:
        err.write("mdfleet: configuration error: %s\n" % exc)
        return EXIT_CONFIG
    except MdError as exc:
        err.write("mdfleet: %s\n" % exc)
        return EXIT_FAILED
    _print(report, getattr(args, "json", False), out)
    for problem in report.errors:
        err.write("mdfleet: %s\n" % problem)
    return EXIT_FAILED if report.errors else EXIT_OK
