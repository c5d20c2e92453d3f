"""What each module's AnsiballZ payload holds (issue 13 item 3): Ansible ships every module_utils file an
import statement reaches from the module, and the host decodes (reading the payload from stdin one byte
per read(2) under pipelining), unzips and compiles each one at every run, so a module ships what its job
needs and no more. Structural: the files of the payload, as tests/unit/payload.py finds them (checked
against Ansible's own builder where ansible is importable)."""

from __future__ import annotations

import ast
import datetime
import importlib
import io
import zipfile
import zlib

import pytest

from .payload import PREFIX, ROOT, UTILS, closure

PLUGINS = ROOT / "plugins"
MODULES = sorted(p.stem for p in (PLUGINS / "modules").glob("*.py") if p.stem != "__init__")

# What md_status (read the store, build the views, render JSON) never needs: the ACME client and the order
# side, the engine's HTTP client, the OCSP exchange, the command runner, the other renderings.
NOT_FOR_STATUS = ("mdcore/acme/account.py", "mdcore/acme/order.py", "mdcore/acme/transport.py", "mdcore/acme/jws.py",
                  "mdcore/issuance.py", "mdcore/manager.py", "mdcore/net/", "mdcore/keys.py", "mdcore/ari.py",
                  "mdcore/ocsp/fetch.py", "mdcore/ocsp/request.py", "mdcore/ocsp/verify.py", "mdcore/ocsp/refresh.py",
                  "mdcore/ocsp/outputs.py", "mdcore/webglue/", "mdcore/notify/command.py", "mdcore/proc.py",
                  "mdcore/status/html_view.py", "mdcore/status/prom_view.py", "mdcore/status/writer.py",
                  "mdcore/challenges/http01.py", "mdcore/challenges/dns01.py", "mdcore/dnsclient/exchange.py",
                  "mdcore/cli.py", "mdcore/fleet/share.py",
                  # nor the config parser (domain entries): statusconfig.py reads what the status needs
                  "mdcore/hostconfig.py", "mdcore/config.py", "mdcore/dnsquery.py", "mdcore/dnsclient/",
                  "mdcore/challenges/",
                  # nor the option table with its descriptions: the compact copies (options/*_spec.py) instead
                  "mdcore/options/modules.py", "mdcore/options/domain.py", "mdcore/options/host.py",
                  "mdcore/options/stapling.py", "mdcore/options/role.py",
                  # nor the store's writer (its lock, activation, recovery): storeread.py reads
                  "mdcore/store.py", "mdcore/state/installs.py",
                  # nor the staple book's writer: ocsp/bookread.py reads it
                  "mdcore/ocsp/persist.py")
# What acme_md_order must ship although an idle run imports none of it: the order path, when one is due.
ORDER_PATH = ("mdcore/issuance.py", "mdcore/acme/order.py", "mdcore/acme/account.py", "mdcore/acme/transport.py",
              "mdcore/acme/jws.py", "mdcore/net/client.py", "mdcore/challenges/http01.py",
              "mdcore/challenges/tlsalpn01.py", "mdcore/challenges/dns01.py", "mdcore/challenges/rfc2136.py",
              "mdcore/challenges/dnspersist01.py", "mdcore/keys.py", "mdcore/chains.py", "mdcore/ari.py",
              "mdcore/persist_records.py")
# ... and what it does not need: stapling's exchange, the status views, the glue, the CLI.
NOT_FOR_ORDER = ("mdcore/ocsp/fetch.py", "mdcore/ocsp/refresh.py", "mdcore/ocsp/verify.py", "mdcore/ocsp/outputs.py",
                 "mdcore/status/", "mdcore/webglue/", "mdcore/notify/command.py", "mdcore/cli.py",
                 "mdcore/fleet/share.py")
# Deflated bytes of the module_utils files (the payload's share that is ours, before base64): today's
# size and some room; a change that draws in a package trips it (community.crypto's x509_certificate_info
# ships about 44 KiB of its own, acme_certificate about 84 KiB).
# ocsp_staple: 105 -> 110 for the forked helper that verifies a share of a big run (ocsp/split.py,
# forked.py: 2.6 KiB deflated), which the module uses from 64 due staples on
# md_status 90 -> 77, md_fleet_report 55 -> 41: the compact copies of the option table (options/*_spec.py,
# no descriptions) instead of the table; md_status 77 -> 69: the store's read side (storeread.py), not store.py.
# acme_md_order 160 -> 167: the forked order process (orderfork.py, 71a6375) took it to 164.2 KiB, the store's
# split into storeread.py and store.py (it ships both) to 165.5
# ocsp_staple 110 -> 112: horizon.py, the moments the stapling decisions note for the quiet memo (0.9 KiB)
# every module + 2.7 KiB: bytecache.py (engine_module.py imports it), the bytecode cache that spares each run
# compiling the engine (md_status: 475 -> 409 ms CPU per run); md_status made room for it (ocsp/bookread.py:
# the staple book's read side, without persist.py's writer)
# acme_md_order 171 -> 173: the standalone listener's fetch watch and its relay to the order process (+1.8 KiB)
# every module + 1.0 KiB: workpool.py, the threads of a run's orders and of fsutil's group fsyncs, instead of
# concurrent.futures (whose import cost each process of a run ~10 ms before its first order)
# ocsp_staple 116 -> 119: the queue of chunks that the stapling run and its helper take from (split.py) and
# exchange_all's more() in the HTTP client (+2.7 KiB); acme_md_order 174 -> 175: that more() (net/, +0.1 KiB)
# md_status 70 -> 71, acme_md_order 175 -> 176, ocsp_staple 119 -> 120: a set's staged files flushed at once at
# its seal (fsutil.flush, Store._flush_staged) and the names of new store folders made durable (+0.3-0.6 KiB)
# host_files: fsutil.ensure_dirs (+0.2 KiB) and no workpool.py any more (fsutil fsyncs in turn): 24.0 KiB
BUDGET_KIB = {"md_status": 71, "acme_md_order": 176, "md_fleet_report": 45, "ocsp_staple": 120, "host_files": 25}


def _deflated(files: dict[str, int]) -> int:
    return sum(len(zlib.compress((UTILS / name).read_bytes(), 6)) for name in files)


def _hits(files: dict[str, int], wanted: tuple[str, ...]) -> set[str]:
    return {name for name in files if any(name == w or (w.endswith("/") and name.startswith(w)) for w in wanted)}


def test_md_status_ships_the_store_reader_and_views_not_the_order_or_fetch_side():
    files = closure("md_status")
    needed = {"mdcore/storeread.py", "mdcore/status/build.py", "mdcore/status/json_view.py", "mdcore/statusconfig.py",
              "mdcore/options/md_status_spec.py", "mdcore/options/status_config_spec.py"}
    assert needed <= set(files)
    assert _hits(files, NOT_FOR_STATUS) == set()


def test_acme_md_order_ships_the_order_path_and_no_stapling_exchange_or_views():
    files = closure("acme_md_order")
    assert set(ORDER_PATH) <= set(files)
    assert _hits(files, NOT_FOR_ORDER) == set()


def test_md_fleet_report_ships_the_fleet_view_only():
    files = closure("md_fleet_report")
    assert "mdcore/status/fleet.py" in files
    not_here = tuple(n for n in NOT_FOR_STATUS if n != "mdcore/status/html_view.py")  # the fleet page is HTML
    assert _hits(files, not_here + ("mdcore/status/build.py", "mdcore/store.py")) == set()


@pytest.mark.parametrize("module", sorted(BUDGET_KIB))
def test_a_payload_stays_within_its_budget(module):
    size = _deflated(closure(module))
    assert size <= BUDGET_KIB[module] * 1024, "%s ships %.1f KiB deflated of module_utils" % (module, size / 1024)


def test_every_module_has_a_budget():
    assert set(MODULES) - {"engine_install"} == set(BUDGET_KIB)  # engine_install ships no module_utils
    assert closure("engine_install") == {}


def _lazy_tables() -> dict[tuple[str, ...], dict[str, str]]:
    """{package (below module_utils): its _WHERE table} of the packages that give names lazily."""
    tables = {}
    for init in UTILS.rglob("__init__.py"):
        for node in ast.parse(init.read_text()).body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["_WHERE"]:
                tables[init.parent.relative_to(UTILS).parts] = ast.literal_eval(node.value)
    return tables


def test_the_lazy_packages_are_found():
    assert {("mdcore", "ocsp"), ("mdcore", "status"), ("mdcore", "notify")} <= set(_lazy_tables())


def test_no_file_of_plugins_takes_a_name_through_a_lazy_table():
    """A name given by a package's table is imported with import_module, which the builder does not follow:
    a payload file that took it from the package would fail on the host for want of the submodule."""
    tables = _lazy_tables()
    found = []
    for path in PLUGINS.rglob("*.py"):
        package = path.relative_to(UTILS).parts[:-1] if UTILS in path.parents else ()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = tuple(node.module.split(".")) if node.module else ()
            if node.level:
                target = package[:len(package) - node.level + 1] + module
            elif module[:len(PREFIX)] == PREFIX:
                target = module[len(PREFIX):]
            else:
                continue
            found += ["%s: %s from %s" % (path.relative_to(ROOT), alias.name, ".".join(target))
                      for alias in node.names if alias.name in tables.get(target, {})]
    assert found == []


def test_only_the_lazy_tables_import_engine_modules_by_name():
    """import_module elsewhere (deps.py, dnsquery.py) takes third-party names only."""
    users = {str(p.relative_to(UTILS)) for p in UTILS.rglob("*.py") if "import_module(" in p.read_text()}
    assert users == {"mdcore/lazy.py", "mdcore/deps.py", "mdcore/dnsquery.py"}
    for name in ("deps.py", "dnsquery.py"):
        for node in ast.walk(ast.parse((UTILS / "mdcore" / name).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
                assert not (isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith(".")), name


@pytest.mark.parametrize("package", [("mdcore", "ocsp"), ("mdcore", "status"), ("mdcore", "notify")])
def test_a_lazy_table_names_what_its_submodules_define(package):
    table = _lazy_tables()[package]
    module = importlib.import_module(".".join(package))
    for name, sub in table.items():
        assert getattr(module, name) is getattr(importlib.import_module(".".join(package + (sub,))), name)
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018 - the attribute access is the test


@pytest.mark.parametrize("module", MODULES)
def test_the_closure_is_what_ansible_builds(module, tmp_path):
    """tests/unit/payload.py against Ansible's own builder (the venv's ansible-core)."""
    module_common = pytest.importorskip("ansible.executor.module_common")
    from ansible._internal._ansiballz import _builder  # noqa: PLC0415 - ansible-core 2.19's builder
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: PLC0415

    (tmp_path / "ansible_collections" / "mdfleet").mkdir(parents=True)
    (tmp_path / "ansible_collections" / "mdfleet" / "md").symlink_to(ROOT)
    _AnsibleCollectionFinder(paths=[str(tmp_path)])._install()  # pylint: disable=protected-access
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        module_common.recursive_finder(module, "ansible_collections.mdfleet.md.plugins.modules." + module,
                                       (PLUGINS / "modules" / (module + ".py")).read_bytes(), zf,
                                       datetime.datetime.now(), _builder.ExtensionManager.create(task_vars={}))
        prefix = "/".join(PREFIX) + "/"
        built = {n[len(prefix):] for n in zf.namelist() if n.startswith(prefix)} - {"__init__.py"}
    assert built == set(closure(module))
