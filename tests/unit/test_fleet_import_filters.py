"""The role's distribution filters around a host's one `mdfleet import`: the input it gets (the
bundles exported for its planned imports, in the plan's order) and what the report says of each
planned import, from the engine's answer, without anything of the bundles."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ansible", reason="ansible-core is only in the venv")

SHOP = {"key": "set:web1:shop", "kind": "set", "md": "shop", "source": "web1"}
BLOG = {"key": "set:web1:blog", "kind": "set", "md": "blog", "source": "web1"}
ACME = {"key": "account:web1:https://ca/dir", "kind": "account", "ca_url": "https://ca/dir", "source": "web1"}


@pytest.fixture(scope="module")
def plan(collection_plugin):
    return collection_plugin("plugins.plugin_utils.fleet_plan")


def exports(*results: dict) -> dict:
    return {"results": list(results)}


def exported(item: dict, text: str) -> dict:
    return {"item": dict(item, host="web1"), "rc": 0, "stdout": text, "stderr": ""}


def export_failed(item: dict, stderr: str = "mdfleet: shop has no certificate set on this host (web1) yet") -> dict:
    return {"item": dict(item, host="web1"), "rc": 1, "stdout": "", "stderr": stderr}


def answer(*entries: dict, rc: int = 0) -> dict:
    return {"rc": rc, "stdout": json.dumps({"imports": list(entries), "reload": None, "changed": True}), "stderr": ""}


def test_the_input_holds_the_exported_bundles_in_the_plans_order(plan):
    done = exports(exported(BLOG, '{"md": "blog"}'), export_failed(ACME), exported(SHOP, '{"md": "shop"}'))
    assert plan.import_input_of([SHOP, ACME, BLOG], done) == '[{"md": "shop"},\n{"md": "blog"}]'
    assert json.loads(plan.import_input_of([SHOP, ACME, BLOG], done)) == [{"md": "shop"}, {"md": "blog"}]
    assert plan.import_input_of([ACME], done) == ""  # nothing exported: the import task is skipped
    assert plan.import_input_of([], done) == "" and plan.import_input_of(None, None) == ""


def test_each_planned_import_is_reported_by_its_place(plan):
    done = exports(exported(SHOP, "{}"), export_failed(ACME), exported(BLOG, "{}"))
    result = answer({"action": "imported", "changed": True, "serials": {"p256": "0a"}, "warnings": []},
                    {"action": "failed", "changed": False, "error": "bundle 2 of 2: not an mdfleet bundle",
                     "warnings": []}, rc=1)
    shop, acme, blog = plan.imports_of(result, [SHOP, ACME, BLOG], done)
    assert (shop["action"], shop["changed"], shop["serials"], shop["message"]) == ("imported", True, {"p256": "0a"}, "")
    assert (acme["action"], acme["message"]) == (
        "not_exported", "export from web1 failed: mdfleet: shop has no certificate set on this host (web1) yet")
    assert (blog["action"], blog["message"]) == (
        "failed", "import of blog from web1 failed: bundle 2 of 2: not an mdfleet bundle")
    assert all(set(e) == {"key", "kind", "what", "source", "action", "changed", "serials", "warnings", "message"}
               for e in (shop, acme, blog))


def test_an_import_that_gave_no_answer_fails_every_bundle_it_was_sent(plan):
    done = exports(exported(SHOP, "{}"), exported(BLOG, "{}"))
    crashed = {"rc": 70, "stdout": "", "stderr": "mdfleet: internal error: KeyError (a bug)"}
    assert [(e["action"], e["message"]) for e in plan.imports_of(crashed, [SHOP, BLOG], done)] == [
        ("failed", "import of shop from web1 failed: mdfleet: internal error: KeyError (a bug)"),
        ("failed", "import of blog from web1 failed: mdfleet: internal error: KeyError (a bug)")]
    refused = {"rc": 1, "stdout": json.dumps({"action": "failed", "changed": False, "error": "bundle list is empty"})}
    assert [e["message"] for e in plan.imports_of(refused, [SHOP, BLOG], done)] == [
        "import of %s from web1 failed: bundle list is empty" % md for md in ("shop", "blog")]
    skipped = {"skipped": True, "changed": False}
    assert [e["action"] for e in plan.imports_of(skipped, [SHOP], exports(export_failed(SHOP)))] == ["not_exported"]
    assert plan.imports_of(skipped, [], done) == []


def test_nothing_of_a_bundle_reaches_the_report(plan):
    secret = "-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----"
    done = exports(exported(SHOP, json.dumps({"key_pem": secret})))
    result = answer({"action": "unchanged", "changed": False, "serials": {}, "warnings": []})
    assert "PRIVATE" not in json.dumps(plan.imports_of(result, [SHOP], done))
