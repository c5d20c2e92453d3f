"""The `mdfleet` host command: drive, renew, staple, status, check-config, dns-persist-record,
webglue (mdcore/webglue/cli.py), and the fleet's fleet-state, export, import and account
(mdcore/fleet/commands.py).

`drive` is mod_md's housekeeping for the whole host, run by the systemd timer: renew what is due,
reload the web server (only after its config test passed), refresh OCSP staples (and reload again
when a staple file changed: nginx reads ssl_stapling_file only at load), write the status files,
fire the events. Every step runs even when an earlier one failed, and one broken domain or file
never stops the others. Exit codes:

  0  all fine (repairs made, such as a corrupt derived file set aside and rebuilt, are printed)
  1  something failed (each problem printed on one line: a renewal, a reload, a staple lost, ...)
  2  bad configuration or usage
  3  the store is locked by another run (that run does the work)
  4  degraded, still serving: every certificate and staple the web server has is still valid, but
     something needs attention (a staple refresh failed while the stored good response is served;
     a damaged active set was replaced)
  70 a bug in mdfleet: one line; the traceback only with MDFLEET_TRACEBACK=1
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import BinaryIO, TextIO

from . import VERSION, horizon, persist_cli, quiet, retire
from .clock import Clock, Deadline, to_iso
from .errors import ConfigError, MdError, StoreLockedError
from .events import NO_EVENTS, EventName, EventSink
from .fleet import parsers as fleet_parsers
from .fsutil import ensure_dir
from .hostconfig import HostConfig, load_host_config
from .manager import Action, MdResult, drive_many, forced_member_error, remember_verified
from .notify.command import CommandNotifier
from .ocsp.config import StapleTarget, StaplingConfig
from .ocsp.refresh import managed_targets, refresh_staples
from .ocsp.state import OcspStatus, StapleAction, StapleResult
from .options.host import DEFAULT_CONFIG
from .reload import ReloadOutcome, ReloadResult, reload_server
from .retire import retire_unconfigured
from .status.build import build_status
from .status.expiring import check_expiring
from .status.html_view import render_html
from .status.json_view import KeyNames, report_text
from .status.memo import StatusMemo
from .status.prom_view import render_prometheus
from .status.writer import INDEX_HTML, PROM_FILE, STATUS_JSON, write_status_files
from .store import Store
from .webglue import cli as webglue_cli

RUN_RESERVE = 120.0  # seconds of a run kept for stapling, reloads and status after the orders
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_DEGRADED = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE): one line, the traceback only with MDFLEET_TRACEBACK=1


@dataclass
class RunReport:
    """What one run did, printed for people or as JSON for playbooks (renew_now.yml)."""

    domains: list[dict] = field(default_factory=list)
    staples: list[dict] = field(default_factory=list)
    reloads: list[dict] = field(default_factory=list)
    status_files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retired: list[dict] = field(default_factory=list)  # domains no longer configured, moved to retired/
    degraded: list[str] = field(default_factory=list)  # still serving, needs attention (exit 4)
    warnings: list[str] = field(default_factory=list)  # repairs and notes (exit 0)

    def exit_code(self) -> int:
        return EXIT_FAILED if self.errors else EXIT_DEGRADED if self.degraded else EXIT_OK

    @property
    def changed(self) -> bool:
        return any(d.get("changed") for d in self.domains) or any(s.get("changed") for s in self.staples) or \
            any(r.get("outcome") == ReloadOutcome.RELOADED for r in self.reloads) or bool(self.retired)


def _notifier(store: Store, cfg: HostConfig, clock: Clock) -> EventSink:
    if not cfg.message_cmd:
        return NO_EVENTS
    return CommandNotifier(store, cfg.message_cmd, clock, timeout=cfg.message_timeout)


def _acme(store: Store, cfg: HostConfig, clock: Clock, events: EventSink, names: list[str] | None,
          force: bool, report: RunReport, ignore_backoff: bool = False, deadline: Deadline | None = None) -> list[str]:
    """Renew what is due (or the named domains); returns the domains that got a new set."""
    unknown = sorted(set(names or []) - {d.name for d in cfg.domains})
    if unknown:
        raise ConfigError("%s: no managed domain named %s" % (cfg.path, ", ".join(unknown)))
    chosen = [d for d in cfg.domains if not names or d.name in names]
    if force and names:
        for md in chosen:
            if md.imported:  # a forced renewal of a shared domain happens on its issuer only
                raise forced_member_error(md)
    results = drive_many(store, chosen, clock, workers=cfg.workers, force=force, events=events,
                         ignore_backoff=ignore_backoff, deadline=deadline)
    activated = []
    for md, res in zip(chosen, results, strict=True):
        if isinstance(res, MdResult):
            report.domains.append(_shallow_dict(res))
            if res.changed:
                activated.append(md.name)
            if res.damage:  # replaced when it changed; a member waits for its issuer
                (report.degraded if res.changed else report.errors).append("%s: %s" % (md.name, res.damage))
        else:
            report.domains.append({"md": md.name, "changed": False, "error": str(res)})
            report.errors.append("%s: %s" % (md.name, res))
    return activated


_RESULT_FIELDS: tuple[str, ...] = ()


def _shallow_dict(result: MdResult) -> dict:
    """asdict() without its deep copy (a tenth of an idle run of 1,000 domains): the result is
    made fresh for the report and not used again."""
    global _RESULT_FIELDS
    if not _RESULT_FIELDS:
        _RESULT_FIELDS = tuple(f.name for f in fields(result))
    return {name: getattr(result, name) for name in _RESULT_FIELDS}


def _reload(cfg: HostConfig, report: RunReport, why: str) -> bool | None:
    """Config test, then reload: True when reloaded, False when nothing is configured, None when
    it failed (reported)."""
    result = reload_server(cfg.reload)
    report.reloads.append(dict(asdict(result), why=why))
    if not result.ok:
        report.errors.append("web server not reloaded (%s): %s" % (why, result.detail))
        return None
    return result.outcome == ReloadOutcome.RELOADED


def staple_targets(store: Store, cfg: HostConfig) -> list[StapleTarget]:
    opts = cfg.stapling
    overrides = None
    if opts.nginx_dir:
        ensure_dir(opts.nginx_dir, 0o755)  # OCSP responses are public; nginx reads them at load
        overrides = {md: {kt: {"staple_file": os.path.join(opts.nginx_dir, "%s.%s.der" % (md, kt))}
                          for kt in [c.key_type for c in store.readable_active_certs(md)]}
                     for md in store.managed_names()}
    targets = managed_targets(store, overrides, haproxy_ocsp_files=opts.haproxy_ocsp_files)
    return targets + [StapleTarget.from_dict(other) for other in opts.others]


def _staple(store: Store, cfg: HostConfig, clock: Clock, events: EventSink, report: RunReport,
            deadline: Deadline | None = None) -> bool:
    """Refresh what is due; returns whether a staple file changed."""
    opts = cfg.stapling
    if not opts.enabled:
        return False
    config = StaplingConfig(window=opts.window, timeout=opts.timeout, proxy=opts.proxy,
                            keep_seconds=opts.keep_seconds, haproxy_socket=opts.haproxy_socket,
                            workers=opts.workers)
    results = refresh_staples(store, staple_targets(store, cfg), clock, config=config, deadline=deadline)
    changed = False
    for res in results:
        report.staples.append(_staple_entry(res))
        changed = changed or bool(res.changed_files)
        who = res.md or res.cert_path
        if res.action == StapleAction.FETCHED:
            events.fire(EventName.OCSP_RENEWED, who, {"status": res.status, "next_update": to_iso(res.next_update)})
        if res.error or res.status == OcspStatus.REVOKED:
            events.fire(EventName.OCSP_ERRORED, who, {"error": res.error or "certificate revoked",
                                                      "status": res.status})
            if res.error and _still_served(res, clock):
                report.degraded.append("stapling %s: %s (the stored response, valid until %s, is still served)"
                                       % (res.name, res.error, to_iso(res.next_update)))
            elif res.error:
                report.errors.append("stapling %s: %s" % (res.name, res.error))
        for problem in res.output_errors:
            report.errors.append("stapling %s: %s" % (res.name, problem))
    return changed


def _still_served(res: StapleResult, clock: Clock) -> bool:
    """A refresh failed, but the good response stored before is valid and in the staple files."""
    return res.status == OcspStatus.GOOD and res.next_update is not None and res.next_update > clock.now()


def _staple_entry(res: StapleResult) -> dict:
    return {"name": res.name, "md": res.md, "key_type": res.key_type, "action": res.action, "status": res.status,
            "next_update": to_iso(res.next_update), "refresh_at": to_iso(res.refresh_at), "error": res.error,
            "changed": res.changed, "files": list(res.files), "warnings": list(res.warnings)}


def _status(store: Store, cfg: HostConfig, clock: Clock, events: EventSink, report: RunReport) -> None:
    if isinstance(events, CommandNotifier):
        events.retry_pending()
    memo = StatusMemo.load(store, cfg.stapling.enabled, cfg.status_key_names)
    status = build_status(store, clock, others=[o["cert"] for o in cfg.stapling.others],
                          stapling=cfg.stapling.enabled, memo=memo)
    check_expiring(store, status, events)
    report.status_files = write_status_files(store, status, prometheus_file=cfg.prometheus_file,
                                             publish_dir=cfg.status_publish_dir, key_names=cfg.status_key_names,
                                             memo=memo)
    memo.save()
    recorder = horizon.recorder()
    if recorder is not None:
        # the status files are `status`'s views: a replay of `status` prints them (quiet.py)
        folder = store.status_dir()
        for key in (quiet.view_key("json", None), quiet.view_key("json", cfg.status_key_names)):
            recorder.view(key, os.path.join(folder, STATUS_JSON))
        recorder.view(quiet.view_key("html", None), os.path.join(folder, INDEX_HTML))
        recorder.view(quiet.view_key("prometheus", None), os.path.join(folder, PROM_FILE))
        recorder.status_covered = memo.covers(d.name for d in cfg.domains)


def _install(store: Store, cfg: HostConfig, events: EventSink, report: RunReport) -> None:
    """Activated sets the web server has not loaded yet (store.pending_installs: this run's, and
    those of runs that were killed or whose reload failed): their `renewed` if it never went out,
    the web server's config test and reload, then `installed` (urgent after an emergency renewal).
    A failed reload keeps them: every later run tries again."""
    pending = store.pending_installs()
    if not pending:
        return
    active = {entry.md: _active_id(store, entry.md) for entry in pending}
    fired = []
    # Without a message command `renewed` reaches nobody: nothing is recorded (a later run with
    # one, after a kill before the reload, announces it), as drive_md does for its own.
    for entry in pending if events is not NO_EVENTS else []:
        details = entry.events.get(EventName.RENEWED)
        if details is not None and active[entry.md] == entry.set_id:
            events.fire(EventName.RENEWED, entry.md, details)
            fired.append((entry.md, entry.set_id, EventName.RENEWED))
    store.events_fired(fired)  # recorded together: one batch of fsyncs, not two per domain in a row
    result = _reload(cfg, report, "new certificates")
    if result is None:
        return
    for entry in pending:
        if result and active[entry.md] == entry.set_id:
            events.fire(EventName.INSTALLED, entry.md, entry.events.get(EventName.INSTALLED) or {})
        store.drop_install(entry.md)  # loaded (or a set never activated: nothing to load)


def _active_id(store: Store, md: str) -> str | None:
    current = store.intact_set(md)
    return current.set_id if current else None


def _step(report: RunReport, what: str, action) -> object:
    """One step of a run: its failure is reported and the run goes on with the next step."""
    try:
        return action()
    except StoreLockedError:
        raise
    except ConfigError:
        raise
    except MdError as exc:
        report.errors.append("%s: %s" % (what, exc))
    except OSError as exc:  # the store or the web server's files (a full disk, a read-only file system)
        report.errors.append("%s: %s%s" % (what, exc.strerror or exc, " (%s)" % exc.filename if exc.filename else ""))
    return None


def run(cfg: HostConfig, clock: Clock, *, acme: bool = True, staple: bool = True, names: list[str] | None = None,
        force: bool = False, ignore_backoff: bool = False) -> RunReport:
    """One locked run over the store: the parts of `drive` that ``acme``/``staple`` select. The
    sets activated before (also by runs that were killed) are reloaded first."""
    report = RunReport()
    run = Deadline(clock, cfg.run_timeout)  # the lock wait included: see run_deadlines()
    store = Store(cfg.store, clock, challenges_dir=cfg.challenges_dir).setup()
    with store.lock(min(cfg.lock_wait, run.remaining())):
        _step(report, "recovery", store.recover)
        events = _notifier(store, cfg, clock)
        if acme and not names:  # a whole-host run knows every domain this host manages
            report.retired = _step(report, "retirement",
                                   lambda: retire_unconfigured(store, {d.name for d in cfg.domains}, clock)) or []
            if report.retired:
                _reload(cfg, report, "managed domains retired")
        orders, staples = run_deadlines(run)
        if acme:
            _step(report, "renewal",
                  lambda: _acme(store, cfg, clock, events, names, force, report, ignore_backoff, orders))
        _step(report, "reload", lambda: _install(store, cfg, events, report))
        if staple and _step(report, "stapling", lambda: _staple(store, cfg, clock, events, report, staples)):
            _reload(cfg, report, "new OCSP staples")
        _step(report, "status", lambda: _status(store, cfg, clock, events, report))
        remember_verified(store)  # the sets activated in this run, checked by the status views
        recorder = horizon.recorder()
        if recorder is not None:  # what this run looked at, as it is while no other run can change it
            recorder.freeze(store.root)
    report.warnings.extend(store.notes)
    return report


def quiet_run(report: RunReport, cfg: HostConfig, status_covered: bool) -> bool:
    """Whether ``report`` is that of a run with nothing to do, one the quiet memo may answer
    again (quiet.py): nothing renewed, backing off, fetched, failed, retired or reloaded, no note,
    and every domain's status from the status memo (kept only for healthy domains and only until
    its texts change with time). Certificates of stapling.others have no status memo: a host with
    them always makes the run."""
    if report.changed or report.errors or report.degraded or report.warnings or report.retired or report.reloads:
        return False
    if cfg.stapling.others or not status_covered:
        return False
    if any(d.get("action") != Action.NONE or d.get("error") or d.get("damage") for d in report.domains):
        return False
    return all(s["action"] in (StapleAction.KEPT, StapleAction.SKIPPED) and not s["error"] and not s["warnings"]
               for s in report.staples)


def run_deadlines(run: Deadline) -> tuple[Deadline, Deadline]:
    """How a run shares its time (run_timeout): orders start and end before RUN_RESERVE is left,
    which stapling (each exchange within what is left), the reloads and the status files use.
    Reloads, config tests and event commands have timeouts of their own; the role sets the
    service's TimeoutStartSec above run_timeout, so systemd never kills a run in the middle."""
    reserve = min(RUN_RESERVE, run.seconds / 10)
    return run.within(run.remaining() - reserve), run


def after_import(store: Store, cfg: HostConfig, clock: Clock) -> tuple[dict, list[str]]:
    """What a run does after activating sets imported from the fleet's issuers, once for all the
    sets of one `mdfleet import` (the caller holds the lock): reload after the config test,
    `installed`, stapling of the new certificates (and a reload when a staple file changed), status
    files. Returns the first reload's result and the problems met, as warnings."""
    report = RunReport()
    events = _notifier(store, cfg, clock)
    _install(store, cfg, events, report)
    reload_problems = len(report.errors)  # told by the reload result itself
    if _step(report, "stapling", lambda: _staple(store, cfg, clock, events, report)):
        _reload(cfg, report, "new OCSP staples")
    _step(report, "status", lambda: _status(store, cfg, clock, events, report))
    first = report.reloads[0] if report.reloads else \
        dict(asdict(ReloadResult(ReloadOutcome.SKIPPED, "nothing to reload")), why="new certificates")
    return first, report.errors[reload_problems:] + report.degraded + store.notes


def _retired(args, cfg: HostConfig, clock: Clock, out: TextIO) -> int:
    store = Store(cfg.store, clock, challenges_dir=cfg.challenges_dir)
    if not args.purge:
        return retire.run(args, store, clock, out)
    with store.setup().lock(cfg.lock_wait):
        return retire.run(args, store, clock, out)


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
    for staple in report.staples:
        out.write("%-30s ocsp %-8s %-12s next-update %s%s\n" % (
            staple["name"], staple["action"], staple["status"], staple["next_update"],
            (" error: %s" % staple["error"]) if staple["error"] else ""))
        for warning in staple["warnings"]:
            out.write("%-30s ocsp note: %s\n" % (staple["name"], warning))
    for entry in report.retired:
        out.write("%-30s retired (no longer configured): its sets are in %s\n" % (entry["md"], entry["folder"]))
    for reload in report.reloads:
        if reload["outcome"] != ReloadOutcome.SKIPPED:
            out.write("web server: %s (%s) %s\n" % (reload["outcome"], reload["why"], reload["detail"]))


def _show_status(cfg: HostConfig, clock: Clock, view: str, out: TextIO, key_names: str | None = None) -> None:
    store = Store(cfg.store, clock, challenges_dir=cfg.challenges_dir)
    names = key_names or cfg.status_key_names
    # the memo the last drive left (read only: this command holds no lock)
    memo = StatusMemo.load(store, cfg.stapling.enabled, names)
    status = build_status(store, clock, others=[o["cert"] for o in cfg.stapling.others],
                          stapling=cfg.stapling.enabled, memo=memo)
    if view == "html":
        out.write(render_html(status))
    elif view == "prometheus":
        out.write(render_prometheus(status))
    else:
        out.write(report_text(status, names) + "\n")  # md-status.json's text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mdfleet", description="ACME certificates, OCSP stapling and status "
                                     "for this host (mdfleet.md %s)" % VERSION)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="host configuration (JSON), default %(default)s")
    sub = parser.add_subparsers(dest="command", required=True)
    drive = sub.add_parser("drive", help="do all that is due: renew, reload, staple, status, events")
    drive.add_argument("--json", action="store_true", help="print the run's report as JSON")
    renew = sub.add_parser("renew", help="renew the named managed domains (all when none named), then staple")
    renew.add_argument("names", nargs="*")
    renew.add_argument("--force", action="store_true", help="renew even when not due")
    renew.add_argument("--ignore-backoff", action="store_true",
                       help="order what has no certificate or is due even while backing off from errors")
    renew.add_argument("--json", action="store_true")
    staple = sub.add_parser("staple", help="refresh the OCSP staples that are due")
    staple.add_argument("--json", action="store_true")
    status = sub.add_parser("status", help="print the status (JSON by default)")
    fmt = status.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="view", action="store_const", const="json")
    fmt.add_argument("--html", dest="view", action="store_const", const="html")
    fmt.add_argument("--prometheus", dest="view", action="store_const", const="prometheus")
    status.add_argument("--key-names", choices=KeyNames.ALL,
                        help="name certificates in the JSON view by our key types (p256) or mod_md's (secp256r1); "
                             "default: the config's status.key_names")
    sub.add_parser("check-config", help="validate the configuration and exit")
    persist_cli.add_parser(sub)
    retire.add_parser(sub)
    fleet_parsers.add_parsers(sub)
    webglue_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         inp: BinaryIO | None = None, quiet_memo: bool = False) -> int:
    """Run one command; output goes to ``out``/``err`` (stdout/stderr by default), bundles come
    from ``inp`` (stdin). ``quiet_memo``: a `drive` records what it looked at and, when it had
    nothing to do, leaves the quiet memo that answers the next ones (``python3 -m mdcore``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    argv = sys.argv[1:] if argv is None else list(argv)
    config_path = quiet.drive_config(argv) if quiet_memo and not os.environ.get(quiet.OFF) else None
    if config_path is None:
        return _main(argv, out, err, inp)
    made = time.time()
    shown, told = io.StringIO(), io.StringIO()
    recorder = quiet.Recorder().start()
    try:
        code = _main(argv, shown, told, inp)
    finally:
        recorder.stop()
    out.write(shown.getvalue())
    err.write(told.getvalue())
    recorder.save(argv, config_path, made, shown.getvalue(), told.getvalue(), code)
    return code


def _main(argv: list[str], out: TextIO, err: TextIO, inp: BinaryIO | None) -> int:
    args = build_parser().parse_args(argv)
    clock = Clock()
    try:
        if args.command == "webglue":  # reads its own file (webglue.json), not the host config
            return webglue_cli.main(args, clock, out, err)
        cfg = load_host_config(args.config)
        for note in cfg.notes:  # old spellings still accepted: every command says so
            err.write("mdfleet: warning: %s\n" % note)
        if args.command == "check-config":
            out.write("%s: OK, %d managed domain(s)\n" % (cfg.path, len(cfg.domains)))
            return EXIT_OK
        if args.command == "status":
            _show_status(cfg, clock, args.view or "json", out, args.key_names)
            return EXIT_OK
        if args.command == persist_cli.COMMAND:
            return persist_cli.run(args, cfg, clock, out)
        if args.command == retire.COMMAND:
            return _retired(args, cfg, clock, out)
        if args.command in fleet_parsers.COMMANDS:
            from .fleet import commands as fleet_commands  # bundles, accounts: cryptography and the ACME client

            return fleet_commands.run_command(args, cfg, clock, out, err, inp or sys.stdin.buffer)
        if args.command == "drive":
            report = run(cfg, clock)
            recorder = horizon.recorder()
            if recorder is not None:
                recorder.quiet = quiet_run(report, cfg, recorder.status_covered)
        elif args.command == "staple":
            report = run(cfg, clock, acme=False)
        else:
            report = run(cfg, clock, names=args.names or None, force=args.force, ignore_backoff=args.ignore_backoff)
    except StoreLockedError as exc:
        err.write("mdfleet: %s\n" % exc)
        return EXIT_LOCKED
    except ConfigError as exc:
        err.write("mdfleet: configuration error: %s\n" % exc)
        return EXIT_CONFIG
    except MdError as exc:
        err.write("mdfleet: %s\n" % exc)
        return EXIT_FAILED
    except OSError as exc:  # the store or a file named by the config, outside every step
        err.write("mdfleet: %s%s\n" % (exc.strerror or exc, ": %s" % exc.filename if exc.filename else ""))
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line (the timer's journal and Ansible show it), never a crash dump
        if os.environ.get("MDFLEET_TRACEBACK"):
            raise
        err.write("mdfleet: internal error: %s: %s (a bug in mdfleet: please report it; MDFLEET_TRACEBACK=1 "
                  "shows where)\n" % (type(exc).__name__, exc))
        return EXIT_INTERNAL
    _print(report, getattr(args, "json", False), out)
    for problem in report.errors:
        err.write("mdfleet: %s\n" % problem)
    for problem in report.degraded:
        err.write("mdfleet: degraded: %s\n" % problem)
    for note in report.warnings:
        err.write("mdfleet: warning: %s\n" % note)
    return report.exit_code()
