"""The option table (mdcore/options/) is the one source of every option: the checked-in copies it
generates (doc fragments, the role's argument specs and defaults, docs/config.md) must be what
scripts/gen_options.py writes from it now, and the modules and the role must take their options
from it. A copy edited by hand, or a table change without `make options`, fails here."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from mdcore.options import host, modules, role
from mdcore.options.model import Kind, by_name, paragraphs

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("gen_options", ROOT / "scripts" / "gen_options.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = generator()


def test_every_generated_file_is_what_the_table_gives():
    assert GEN.stale() == [], "run `make options` (scripts/gen_options.py) and commit the result"


def test_a_hand_edit_is_found(tmp_path):
    for rel, text in GEN.outputs().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert GEN.stale(tmp_path) == []
    spec = tmp_path / "roles/managed_domains/meta/argument_specs.yml"
    spec.write_text(spec.read_text().replace("default: 4\n", "default: 5\n", 1))
    assert GEN.stale(tmp_path) == ["roles/managed_domains/meta/argument_specs.yml"]


def top_level_assignments(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    return {n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)
            and isinstance(n.targets[0], ast.Name)}


def imported_names(path: Path, module: str) -> set[str]:
    """The names ``path`` imports from ``module`` (a dotted name's tail, e.g. mdcore.options.md_status_spec)."""
    return {alias.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.ImportFrom)
            and (node.module or "").endswith(module) for alias in node.names}


@pytest.mark.parametrize("name", sorted(modules.MODULES))
def test_modules_take_spec_and_docs_from_the_table(name):
    path = ROOT / "plugins" / "modules" / ("%s.py" % name)
    assigns = top_level_assignments(path)
    if name in GEN.COMPACT_MODULES:  # the table's compact copy, generated (checked below)
        assert "ARGUMENT_SPEC" not in assigns
        names = imported_names(path, "mdcore.options.%s_spec" % name)
        assert "ARGUMENT_SPEC" in names
        if "checked_params" in path.read_text():
            assert "OPTIONS" in names and "checked_params(module, OPTIONS)" in path.read_text()
        assert "options.modules" not in path.read_text()
    else:
        if "ARGUMENT_SPEC" not in assigns:  # an action plugin that does the work validates the arguments itself
            assigns = dict(top_level_assignments(ROOT / "plugins" / "action" / ("%s.py" % name)), **assigns)
        call = assigns["ARGUMENT_SPEC"]
        assert isinstance(call, ast.Call) and call.func.id == "module_argument_spec" and call.args[0].value == name
    doc = yaml.safe_load(assigns["DOCUMENTATION"].value)
    assert "options" not in doc, "the options come from the doc fragment"
    assert "mdfleet.md.options.%s" % name in doc["extends_documentation_fragment"]


def test_the_fragments_document_the_argument_specs():
    """What validate-modules checks, here without ansible-test: same names, types, defaults, choices."""
    fragments = {}
    exec(compile((ROOT / "plugins/doc_fragments/options.py").read_text(), "options.py", "exec"), fragments)
    docs = fragments["ModuleDocFragment"]
    for name in modules.MODULES:
        doc = yaml.safe_load(getattr(docs, name.upper()))["options"]
        compare(doc, modules.module_argument_spec(name), name)


def compare(doc: dict, spec: dict, where: str) -> None:
    assert set(doc) == set(spec), where
    for key, entry in spec.items():
        for field in ("type", "elements", "default", "choices", "required", "aliases"):
            assert doc[key].get(field) == entry.get(field), "%s.%s: %s" % (where, key, field)
        if "options" in entry:
            compare(doc[key]["suboptions"], entry["options"], "%s.%s" % (where, key))


def check_fields(options) -> list:
    """What check_options reads of each option (name, kind and GEN.CHECK_FIELDS), suboptions included."""
    return [(opt.name, opt.kind) + tuple(check_fields(getattr(opt, f)) if f == "suboptions" else getattr(opt, f)
                                         for f in GEN.CHECK_FIELDS) for opt in options]


def test_the_compact_copies_check_as_the_table():
    """The generated compact tables (no descriptions) that md_status's payload ships instead of the option table:
    the same argument spec, the same options for check_options, the same config keys."""
    from mdcore.options import status_config_spec

    for name in GEN.COMPACT_MODULES:
        spec = importlib.import_module("mdcore.options.%s_spec" % name)
        assert spec.ARGUMENT_SPEC == modules.module_argument_spec(name)
        assert check_fields(spec.OPTIONS) == check_fields(modules.MODULES[name])
        assert all(opt.description == "" for opt in spec.OPTIONS)
    assert status_config_spec.HOST_KEYS == tuple(host.HOST)
    assert status_config_spec.DEFAULT_STORE == host.DEFAULT_STORE
    assert check_fields(status_config_spec.TOP_LEVEL) == check_fields(
        [o for o in host.HOST_OPTIONS if o.name not in status_config_spec.SECTIONS])
    assert check_fields(status_config_spec.STAPLING_OPTIONS) == check_fields(host.STAPLING_OPTIONS)
    assert check_fields(status_config_spec.STATUS_OPTIONS) == check_fields(host.STATUS_OPTIONS)
    assert status_config_spec.STAPLING_OPTIONS[3].check is host.STAPLING_OPTIONS[3].check  # proxy: rules.http_url


def test_the_generator_copies_every_field_check_options_reads():
    """A field that check.py starts to read must be copied into the compact tables too (GEN.CHECK_FIELDS)."""
    tree = ast.parse((ROOT / "plugins/module_utils/mdcore/options/check.py").read_text())
    read = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "opt"}
    assert read, "check.py no longer names its option `opt`: update this test"
    assert read - {"name", "kind"} <= set(GEN.CHECK_FIELDS)


@pytest.mark.parametrize("edit", ["module default", "module bound", "config section", "config rule"])
def test_a_table_edit_without_make_options_is_found(edit, monkeypatch):
    """Editing the table but not regenerating leaves a compact copy stale, which fails the first test."""
    import dataclasses

    from mdcore.options import rules

    def changed(options, index, **fields):
        return options[:index] + (dataclasses.replace(options[index], **fields),) + options[index + 1:]

    if edit == "module default":
        table = changed(modules.MD_STATUS, 4, default="20%")  # warn_window
        monkeypatch.setitem(modules.MODULES, "md_status", table)
        want = "plugins/module_utils/mdcore/options/md_status_spec.py"
    elif edit == "module bound":
        table = changed(modules.MD_STATUS, 2, required=True)  # names
        monkeypatch.setitem(modules.MODULES, "md_status", table)
        want = "plugins/module_utils/mdcore/options/md_status_spec.py"
    elif edit == "config section":
        monkeypatch.setattr(host, "STATUS_OPTIONS", changed(host.STATUS_OPTIONS, 2, choices=("mdfleet",)))
        want = "plugins/module_utils/mdcore/options/status_config_spec.py"
    else:
        monkeypatch.setattr(host, "STAPLING_OPTIONS", changed(host.STAPLING_OPTIONS, 0, check=rules.acme_url))
        want = "plugins/module_utils/mdcore/options/status_config_spec.py"
    assert want in GEN.stale()


def test_the_generated_yaml_reads_back_as_the_data():
    data = {"a": "x: y", "b": ["it's", "#no", "- dash", "yes", "1.5", "::1", "0.0.0.0", "30min"], "c": {},
            "d": [], "e": "word " * 40, "f": [{"g": 1, "h": [True, None]}], "i": "'quoted' " * 20}
    assert yaml.safe_load(GEN.dump(data)) == data


def test_role_mirrors_every_host_key_it_writes():
    """Each host config key with a role variable is written by the role's vars/main.yml from that variable."""
    vars_text = (ROOT / "roles/managed_domains/vars/main.yml").read_text()
    mirrored = [o for o in host.HOST_OPTIONS + host.STAPLING_OPTIONS + host.STATUS_OPTIONS if o.role_var]
    assert len(mirrored) >= 14
    for opt in mirrored:
        assert re.search(r"\b%s\b" % opt.role_var, vars_text), opt.role_var
        assert opt.role_var in role.ROLE, opt.role_var


def test_defaults_of_the_role_mirror_the_engine():
    defaults = yaml.safe_load((ROOT / "roles/managed_domains/defaults/main.yml").read_text())
    assert defaults["managed_domains_store"] == host.DEFAULT_STORE
    assert defaults["managed_domains_stapling_window"] == host.by_name(host.STAPLING_OPTIONS)["window"].default
    assert defaults["managed_domains_workers"] == host.HOST["workers"].default


def test_every_option_is_described_and_typed():
    def walk(options, where):
        for opt in options:
            assert paragraphs(opt.description), "%s%s has no description" % (where, opt.name)
            assert opt.kind in vars(Kind).values()
            if opt.choices and opt.default is not None and opt.kind != Kind.LIST:
                assert opt.default in opt.choices, opt.name
            walk(opt.suboptions, "%s%s." % (where, opt.name))
    walk(role.ROLE_OPTIONS, "role: ")
    walk(host.HOST_OPTIONS, "config.json: ")
    for name, options in modules.MODULES.items():
        walk(options, name + ": ")


def test_the_engines_dataclass_defaults_are_the_tables():
    """A managed domain built without options (tests, the engine's own callers) is the one config.json
    gives with every key left out: the dataclasses take their defaults from the table, not a copy."""
    from mdcore.config import AccountConfig, CaConfig, MdConfig, account_config_from_dict, md_config_from_dict

    url = "https://ca.example/dir"
    assert MdConfig(name="", domains=["a.example"], cas=[CaConfig(url)]).validate() == \
        md_config_from_dict({"domains": ["a.example"], "acme_directory": url})
    assert AccountConfig(CaConfig(url)) == account_config_from_dict({"url": url})


def test_the_engines_other_defaults_are_the_tables():
    """The account options of a registration, a job's config snapshot, a stapling run's knobs and
    md_status's warn window of other files: each default is the option table's, not a copy."""
    from mdcore.acme.account import AccountOptions
    from mdcore.ocsp.config import StaplingConfig
    from mdcore.options import domain, stapling
    from mdcore.state.job import ConfigSnapshot
    from mdcore.window import Window, duration_seconds

    account = AccountOptions()
    assert (account.key_type, account.eab_alg) == (domain.DOMAIN["account_key_type"].default,
                                                   by_name(domain.CA_OPTIONS)["eab_alg"].default)
    assert domain.DOMAIN["eab_alg"].default == account.eab_alg
    snapshot = ConfigSnapshot.from_json({})
    assert (snapshot.renew_window, snapshot.warn_window) == (domain.DOMAIN["renew_window"].default,
                                                             domain.DOMAIN["warn_window"].default)
    assert ConfigSnapshot() == snapshot
    config, table = StaplingConfig(), modules.OCSP_STAPLE
    assert config.window == Window.parse(stapling.WINDOW.default)
    assert config.timeout == by_name(table)["timeout"].default
    assert config.keep_seconds == duration_seconds(by_name(table)["keep"].default)
    assert (config.workers, config.method) == (by_name(table)["workers"].default,
                                               by_name(table)["method"].default)
    assert by_name(modules.MD_STATUS)["warn_window"].default == domain.DEFAULT_WARN_WINDOW
    from mdcore import manager
    for run in (manager.drive_many, manager.ensure_many):  # the pool of a run without a config file
        assert inspect.signature(run).parameters["workers"].default == host.HOST["workers"].default


def test_a_window_has_no_default_of_its_own():
    from mdcore.window import Window

    with pytest.raises(TypeError):
        Window()  # type: ignore[call-arg]  # each window's default is an option's


def test_playbooks_take_the_roles_defaults_not_copies():
    """Playbooks that run mdfleet without the role (renew_now, account_rollover) read the role's
    generated defaults for what the inventory leaves out; no playbook repeats a default's value."""
    defaults = yaml.safe_load((ROOT / "roles/managed_domains/defaults/main.yml").read_text())
    values = {defaults[name] for name in ("managed_domains_bin", "managed_domains_config_file",
                                          "managed_domains_store")}
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        code = [line for line in playbook.read_text().splitlines() if not line.lstrip().startswith("#")]
        for value in values:
            assert not any(value in line for line in code), "%s repeats the role default %s" % (playbook.name, value)
