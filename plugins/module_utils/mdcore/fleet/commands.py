"""The fleet's `mdfleet` subcommands: fleet-state, export, import, account ensure/import-key/rollover.

Bundles travel on stdin/stdout only (Ansible keeps them in memory, no_log): export refuses to
write a private key to a terminal. Exit codes as the rest of the CLI: 0 done (also an import
refused because the bundle is older: a warning), 1 failed (a bundle that does not verify, a
reload that failed), 2 configuration or usage, 3 store locked.
"""

from __future__ import annotations

import argparse
import json
from typing import BinaryIO, TextIO

from ..clock import Clock
from ..config import CaConfig
from ..errors import MdError
from ..hostconfig import HostConfig
from ..reload import ReloadOutcome
from ..store import Store
from .accounts import (
    account_configs,
    ensure_accounts,
    find_account_config,
    import_account_key,
    rollover,
)
from .bundle import (
    KIND_ACCOUNT,
    KIND_SET,
    MAX_IMPORT_BYTES,
    AccountBundle,
    BundleError,
    is_bundle_list,
    parse_bundle,
    parse_bundles,
)
from .parsers import COMMANDS, add_parsers
from .share import ImportAction, ImportResult, export_account, export_set, fleet_state, import_account, import_set

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
MAX_KEY_BYTES = 64 * 1024
OK_RELOADS = (ReloadOutcome.SKIPPED, ReloadOutcome.RELOADED)


def run_command(args: argparse.Namespace, cfg: HostConfig, clock: Clock, out: TextIO, err: TextIO,
                inp: BinaryIO) -> int:
    store = Store(cfg.store, clock, challenges_dir=cfg.challenges_dir)
    host = cfg.fleet_host
    if args.command == "fleet-state":
        if cfg.holds_accounts:
            cas = [acct.ca for acct in account_configs(cfg.domains, cfg.accounts)]
        else:
            cas = [ca for md in cfg.domains if not md.imported for ca in md.cas]
        doc = fleet_state(store, host, cfg.account_holder, cfg.holds_accounts, cfg.domains, cas)
        _json(out, doc)
        return EXIT_OK
    if args.command == "export":
        return _export(args, cfg, store, clock, out, err)
    if args.command == "import":
        return _import(args, cfg, store, clock, out, err, inp)
    return _account(args, cfg, store, clock, out, err, inp)


def _json(out: TextIO, doc: dict) -> None:
    out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _export(args, cfg: HostConfig, store: Store, clock: Clock, out: TextIO, err: TextIO) -> int:
    if _is_terminal(out):
        err.write("mdfleet: export writes a private key: refusing to print it on a terminal (pipe it into "
                  "mdfleet import on the other host)\n")
        return EXIT_CONFIG
    store.setup()
    with store.lock(cfg.lock_wait):
        store.recover()
        if args.what == "set":
            data = export_set(store, cfg.domain(args.md), args.md, cfg.fleet_host, clock)
        else:
            if not cfg.holds_accounts:
                err.write("mdfleet: this host (%s) does not hold the fleet's ACME accounts: export them on %s\n"
                          % (cfg.fleet_host, cfg.account_holder))
                return EXIT_CONFIG
            data = export_account(store, args.ca, args.eab_kid, cfg.fleet_host, clock)
    out.write(data.decode("ascii"))
    return EXIT_OK


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def read_input(inp: BinaryIO, limit: int) -> bytes:
    data = inp.read(limit + 1)
    if len(data) > limit:
        raise BundleError("input is larger than %d bytes" % limit)
    return data


def _import(args, cfg: HostConfig, store: Store, clock: Clock, out: TextIO, err: TextIO, inp: BinaryIO) -> int:
    try:
        data = read_input(inp, MAX_IMPORT_BYTES)
        if is_bundle_list(data):
            return _import_many(args, cfg, store, clock, parse_bundles(data), out, err)
        bundle = parse_bundle(data)
        if args.check:  # reads only: no store set-up, no lock file, no recovery
            result = _do_import(cfg, store, clock, bundle, check=True)
        else:
            store.setup()
            with store.lock(cfg.lock_wait):
                store.recover()
                result = _do_import(cfg, store, clock, bundle, check=args.check)
    except BundleError as exc:
        if args.json:
            _json(out, {"action": ImportAction.FAILED, "changed": False, "error": str(exc)})
        err.write("mdfleet: import refused: %s\n" % exc)
        return EXIT_FAILED
    failed = result.reload is not None and result.reload.get("outcome") not in OK_RELOADS
    if args.json:
        _json(out, result.to_json())
    else:
        out.write(_import_line(result) + "\n")
    for warning in result.warnings:
        err.write("mdfleet: warning: %s\n" % warning)
    return EXIT_FAILED if failed else EXIT_OK


def _do_import(cfg: HostConfig, store: Store, clock: Clock, bundle, check: bool) -> ImportResult:
    result = _write_bundle(cfg, store, clock, bundle, check)
    if result.action == ImportAction.IMPORTED and result.kind == KIND_SET:
        result.reload, notes = _after_import(store, cfg, clock)
        result.warnings.extend(notes)
    return result


def _write_bundle(cfg: HostConfig, store: Store, clock: Clock, bundle, check: bool) -> ImportResult:
    if isinstance(bundle, AccountBundle):
        return import_account(store, bundle, cfg.fleet_host, cfg.account_holder, check=check)
    return import_set(store, cfg.domain(bundle.md), bundle, cfg.fleet_host, clock, check=check)


def _after_import(store: Store, cfg: HostConfig, clock: Clock) -> tuple[dict, list[str]]:
    from ..cli import after_import  # the host run's reload/staple/status steps (cli imports this module)

    return after_import(store, cfg, clock)


def _import_many(args, cfg: HostConfig, store: Store, clock: Clock, bundles: list, out: TextIO, err: TextIO) -> int:
    """Every bundle a member needs in one run: one lock, the accounts first, each bundle verified and
    activated on its own (a bad one is reported and the others go on), then ONE reload, staple and
    status pass for all the sets imported. --json prints {"imports": [one entry per bundle, in the
    input's order], "reload", "changed", "warnings"}; exit 1 when any bundle or the reload failed."""
    if args.check:
        entries = _write_all(cfg, store, clock, bundles, check=True)
        reload, warnings = None, []
    else:
        store.setup()
        with store.lock(cfg.lock_wait):
            store.recover()
            entries = _write_all(cfg, store, clock, bundles, check=False)
            imported_sets = [e for e in entries if e["kind"] == KIND_SET and e["action"] == ImportAction.IMPORTED]
            reload, warnings = _after_import(store, cfg, clock) if imported_sets else (None, [])
            if reload is not None and reload.get("outcome") not in OK_RELOADS:
                for entry in imported_sets:
                    entry["error"] = "imported, but the web server's reload failed (%s)" % reload.get("outcome")
    failed = [e for e in entries if e.get("error")]
    warnings = [w for e in entries for w in e["warnings"]] + warnings
    if args.json:
        _json(out, {"imports": entries, "reload": reload, "changed": any(e["changed"] for e in entries),
                    "warnings": warnings})
    else:
        for entry in entries:
            out.write(_entry_line(entry) + "\n")
        if reload is not None:
            out.write("web server %s\n" % reload.get("outcome"))
    for entry in failed:
        err.write("mdfleet: import failed: %s\n" % entry["error"])
    for warning in warnings:
        err.write("mdfleet: warning: %s\n" % warning)
    return EXIT_FAILED if failed else EXIT_OK


def _write_all(cfg: HostConfig, store: Store, clock: Clock, bundles: list, check: bool) -> list[dict]:
    entries: list[dict] = [{} for _bundle in bundles]
    accounts_first = sorted(range(len(bundles)), key=lambda i: not isinstance(bundles[i], AccountBundle))
    for place in accounts_first:
        bundle = bundles[place]
        try:
            if isinstance(bundle, BundleError):
                raise bundle
            entries[place] = _write_bundle(cfg, store, clock, bundle, check).to_json()
        except MdError as exc:  # BundleError too: this bundle failed, the others go on
            entries[place] = _failed_entry(bundle, exc)
    return entries


def _failed_entry(bundle, exc: MdError) -> dict:
    parsed = not isinstance(bundle, BundleError)
    kind = (KIND_ACCOUNT if isinstance(bundle, AccountBundle) else KIND_SET) if parsed else None
    return {"kind": kind, "action": ImportAction.FAILED, "changed": False, "error": str(exc),
            "md": getattr(bundle, "md", None), "ca_url": getattr(bundle, "ca_url", None),
            "issuer": getattr(bundle, "issuer", None), "warnings": []}


def _entry_line(entry: dict) -> str:
    if entry.get("error"):
        return "%s: failed: %s" % (entry.get("md") or entry.get("ca_url") or "bundle", entry["error"])
    serials = ", ".join("%s serial %s" % (kt, s) for kt, s in sorted((entry.get("serials") or {}).items()))
    return "%s: %s%s from %s" % (entry.get("md") or entry.get("ca_url"), entry["action"],
                                 (" " + serials) if serials else "", entry.get("issuer"))


def _import_line(result: ImportResult) -> str:
    what = result.md or result.ca_url
    serials = ", ".join("%s serial %s" % (kt, s) for kt, s in sorted(result.serials.items()))
    line = "%s: %s%s from %s" % (what, result.action, (" " + serials) if serials else "", result.issuer)
    if result.reload:
        line += "; web server %s" % result.reload.get("outcome")
    return line


def _account(args, cfg: HostConfig, store: Store, clock: Clock, out: TextIO, err: TextIO, inp: BinaryIO) -> int:
    configs = account_configs(cfg.domains, cfg.accounts if cfg.holds_accounts else [])
    if args.verb == "import-key":
        try:
            pem = read_input(inp, MAX_KEY_BYTES)
            ca = _ca_of(configs, args.ca, args.eab_kid)
            store.setup()
            with store.lock(cfg.lock_wait):
                outcome = import_account_key(store, ca, pem, check=args.check)
        except BundleError as exc:
            err.write("mdfleet: account key not imported: %s\n" % exc)
            return EXIT_FAILED
        _account_out(out, args.json, [outcome])
        return EXIT_OK
    store.setup()
    with store.lock(cfg.lock_wait):
        store.recover()
        if args.verb == "ensure":
            outcomes = ensure_accounts(store, configs, cfg.fleet_host, cfg.account_holder, clock)
        else:
            acct = find_account_config(configs, args.ca, args.eab_kid)
            outcomes = [rollover(store, acct, cfg.fleet_host, cfg.account_holder, clock)]
    _account_out(out, args.json, outcomes)
    errors = [o for o in outcomes if o.error]
    for outcome in errors:
        err.write("mdfleet: account at %s: %s\n" % (outcome.ca_url, outcome.error))
    return EXIT_FAILED if errors else EXIT_OK


def _ca_of(configs, ca_url: str, eab_kid: str | None) -> CaConfig:
    """The CA as this host's config knows it; any http(s) URL for a key given before the config
    names the CA (the Vault path may run first)."""
    for acct in configs:
        if acct.ca.url == ca_url and (acct.ca.eab_kid or None) == (eab_kid or None):
            return acct.ca
    if not ca_url.startswith(("https://", "http://")):
        raise BundleError("--ca must be an ACME directory URL (https://...)")
    return CaConfig(url=ca_url, eab_kid=eab_kid)


def _account_out(out: TextIO, as_json: bool, outcomes: list) -> None:
    if as_json:
        _json(out, {"accounts": [o.to_json() for o in outcomes], "changed": any(o.changed for o in outcomes)})
        return
    for o in outcomes:
        error = (" error: %s" % o.error) if o.error else ""
        out.write("%s: %s %s (key %s)%s\n" % (o.ca_url, o.action, o.account_url or "-", o.key_thumbprint or "-", error))


__all__ = ["add_parsers", "run_command", "COMMANDS"]
