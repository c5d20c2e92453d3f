"""One set of managed-domain options: acme_md_order's argument spec, the role's argument specs
(managed_domains_domains / managed_domains_defaults) and the engine's config keys agree, with the
same choices, so an option added in one place cannot be missing in another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mdcore.config import MD_KEYS

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
MODULE_ONLY = {"store", "challenges_dir", "force", "account_key_rollover"}  # per call, not per domain
ROLE_ONLY = {"site"}  # the web server glue
FLEET = {"issuer", "members"}  # shared domains (docs/fleet.md): the role and the host config, not the module


def module_spec() -> dict[str, dict]:
    tree = ast.parse((ROOT / "plugins/modules/acme_md_order.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENT_SPEC":
            return {kw.arg: _literal(kw.value) for kw in node.value.keywords}
    raise AssertionError("no ARGUMENT_SPEC in acme_md_order")


def _literal(call: ast.expr) -> dict:
    # dict(type="str", choices=[...]) with a name (KEY_TYPES) for some choices: keep what is literal
    assert isinstance(call, ast.Call)
    out = {}
    for kw in call.keywords:
        try:
            out[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            out[kw.arg] = None
    return out


def role_options(name: str) -> dict[str, dict]:
    specs = yaml.safe_load((ROOT / "roles/managed_domains/meta/argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"][name]["options"]


def test_module_role_and_engine_have_the_same_options():
    per_domain = set(module_spec()) - MODULE_ONLY
    assert set(role_options("managed_domains_domains")) - ROLE_ONLY - FLEET == per_domain
    assert set(role_options("managed_domains_defaults")) - FLEET == per_domain - {"name", "domains"}
    assert MD_KEYS - FLEET == per_domain


@pytest.mark.parametrize("where", ["managed_domains_domains", "managed_domains_defaults"])
def test_choices_agree(where):
    role = role_options(where)
    for key, spec in module_spec().items():
        if key in role and spec.get("choices"):
            assert role[key].get("choices") == spec["choices"], key
