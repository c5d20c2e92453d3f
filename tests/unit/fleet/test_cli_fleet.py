"""The fleet's `mdfleet` subcommands through cli.main: the JSON the role reads, exit codes (0 done,
1 failed, 2 configuration/usage, 3 locked), export never to a terminal, import --check writes
nothing, a set import runs the config test + reload and fires `installed`."""

from __future__ import annotations

import fcntl
import io
import json
import sys
from pathlib import Path

from mdcore import cli
from mdcore.fleet.bundle import BUNDLE_VERSION

from ..helpers import tree
from .conftest import ISSUER, MD, MEMBER, OTHER, edit


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def host_config(tmp_path: Path, host: str, store_root: str, fake_ca, **top) -> Path:
    marker = tmp_path / ("%s-events" % host)
    doc = {
        "host": host, "store": store_root, "lock_wait": 0.2, "stapling": {"enabled": False},
        "defaults": {"acme_directory": fake_ca.directory_url, "agree_tos": True},
        "domains": [{"name": MD, "domains": ["shop.example", "www.shop.example"], "key_types": ["p256", "rsa2048"],
                     "issuer": ISSUER, "members": [MEMBER, OTHER]}],
        "message_cmd": [sys.executable, "-c", "import sys; open(%r, 'a').write(' '.join(sys.argv[1:]) + '\\n')"
                        % str(marker)],
    }
    doc.update(top)
    path = tmp_path / ("%s.json" % host)
    path.write_text(json.dumps(doc))
    return path


def mdfleet(config: Path, *args: str, stdin: bytes = b"", out: io.StringIO | None = None):
    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    code = cli.main(["--config", str(config), *args], out=out, err=err, inp=io.BytesIO(stdin))
    return code, out.getvalue(), err.getvalue()


def reload_cmds(tmp_path: Path, test_ok: bool = True) -> dict:
    log = tmp_path / "reloads"
    return {"test_command": [sys.executable, "-c", "import sys; sys.exit(%d)" % (0 if test_ok else 1)],
            "reload_command": [sys.executable, "-c", "open(%r, 'a').write('reload\\n')" % str(log)]}


def test_export_import_fleet_state(bundle, stores, fake_ca, tmp_path) -> None:
    issuer = host_config(tmp_path, ISSUER, stores[ISSUER].root, fake_ca)
    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca, reload=reload_cmds(tmp_path))
    code, data, err = mdfleet(issuer, "export", "set", MD)
    assert code == 0 and err == "" and json.loads(data)["kind"] == "set"

    code, out, err = mdfleet(member, "import", "--check", "--json", "-", stdin=data.encode())
    assert code == 0 and json.loads(out)["action"] == "would_import"
    assert not (tmp_path / "reloads").exists() and stores[MEMBER].active_set(MD) is None

    code, out, err = mdfleet(member, "import", "--json", "-", stdin=data.encode())
    assert code == 0, err
    doc = json.loads(out)
    issuer_set = stores[ISSUER].active_set(MD)
    assert doc == {"kind": "set", "md": MD, "ca_url": None, "issuer": ISSUER, "action": "imported", "changed": True,
                   "serials": {kt: issuer_set.certs[kt].serial for kt in ("p256", "rsa2048")},
                   "account_url": None, "key_thumbprint": None, "warnings": [],
                   "reload": {"outcome": "reloaded", "detail": "", "why": "new certificates"}}
    assert (tmp_path / "reloads").read_text() == "reload\n"
    assert (tmp_path / "web2-events").read_text() == "installed shop\n"
    status = json.loads(Path(stores[MEMBER].status_dir(), "md-status.json").read_text())  # written after it
    (shop,) = status["managed-domains"]
    assert shop["fleet"]["issuer"] == ISSUER and shop["fleet"]["issued-here"] is False
    assert shop["fleet"]["imported"]["from"] == ISSUER and shop["renewal"]["issued-by"] == ISSUER
    assert shop["health"] == "ok" and shop["cert"]["p256"]["serial"] == issuer_set.certs["p256"].serial

    before = tree(stores[MEMBER].path("domains"))
    code, out, _err = mdfleet(member, "import", "--json", stdin=data.encode())
    assert code == 0 and json.loads(out)["action"] == "unchanged" and json.loads(out)["reload"] is None
    assert tree(stores[MEMBER].path("domains")) == before
    assert (tmp_path / "reloads").read_text() == "reload\n"  # no second reload

    states = {}
    for host, config in ((ISSUER, issuer), (MEMBER, member)):
        code, out, _err = mdfleet(config, "fleet-state", "--json")
        assert code == 0
        states[host] = json.loads(out)
    assert states[ISSUER]["sets"][MD]["certs"] == states[MEMBER]["sets"][MD]["certs"]
    assert states[MEMBER]["sets"][MD]["imported"]["from"] == ISSUER
    member_state = states[MEMBER]
    assert set(member_state) == {"host", "account_holder", "holds_accounts", "engine_version", "bundle_version",
                                 "sets", "accounts", "cas"}
    assert (member_state["host"], member_state["bundle_version"]) == (MEMBER, BUNDLE_VERSION)
    shop = member_state["sets"][MD]
    assert (shop["issuer"], shop["issued_here"], shop["members"], shop["key_types"]) == (
        ISSUER, False, [MEMBER, OTHER], ["p256", "rsa2048"])
    assert set(shop["certs"]["p256"]) == {"serial", "sha256_fingerprint", "not_before", "not_after"}
    assert states[ISSUER]["sets"][MD]["issued_here"] and states[ISSUER]["sets"][MD]["imported"] is None
    assert "PRIVATE" not in json.dumps(states)


def test_refusals_and_exit_codes(bundle, stores, fake_ca, tmp_path) -> None:
    issuer = host_config(tmp_path, ISSUER, stores[ISSUER].root, fake_ca)
    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca)
    code, _out, err = mdfleet(issuer, "export", "set", MD, out=Terminal())
    assert code == 2 and "refusing to print it on a terminal" in err
    code, out, err = mdfleet(member, "import", "--json", stdin=b"{broken")
    assert code == 1 and json.loads(out) == {"action": "failed", "changed": False,
                                             "error": "bundle is not valid JSON: Expecting property name enclosed "
                                                      "in double quotes at line 1 column 2"}
    assert err.startswith("mdfleet: import refused: bundle is not valid JSON")
    from_other = edit(bundle, lambda doc: doc.update(issuer=OTHER))
    code, out, err = mdfleet(member, "import", "--json", stdin=from_other)
    assert code == 1 and "comes from web3, but this host (web2) imports shop from web1" in json.loads(out)["error"]
    code, _out, err = mdfleet(member, "export", "set", MD)
    assert code == 2 and "shop is imported on this host from web1: export it on web1" in err
    code, _out, err = mdfleet(member, "export", "set", "nope")
    assert code == 2 and "no managed domain named nope" in err
    code, _out, err = mdfleet(member, "renew", "--force", MD)
    assert code == 2 and "shop is a shared domain ordered by web1: renew it there" in err
    with open(Path(stores[MEMBER].root, "store.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _out, err = mdfleet(member, "import", stdin=bundle)
    assert code == 3 and "locked by another mdfleet run" in err
    assert stores[MEMBER].active_set(MD) is None


def test_an_older_bundle_is_refused_with_a_warning_and_exit_0(bundle, stores, fake_ca, tmp_path, issue,
                                                              shared_cfg, clock) -> None:
    from mdcore.fleet.share import export_set

    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca)
    clock.advance(86400)
    issue(shared_cfg(ISSUER, key_types=["p256", "rsa2048"]), force=True)
    newer = export_set(stores[ISSUER], shared_cfg(ISSUER, key_types=["p256", "rsa2048"]), MD, ISSUER, clock)
    assert mdfleet(member, "import", stdin=newer)[0] == 0
    code, out, err = mdfleet(member, "import", "--json", stdin=bundle)
    doc = json.loads(out)
    assert code == 0 and (doc["action"], doc["changed"]) == ("refused", False)
    assert "older than the active set, which is kept" in doc["warnings"][0]
    assert "mdfleet: warning: the bundle of shop is older" in err


def test_a_failing_config_test_after_import_exits_1(bundle, stores, fake_ca, tmp_path) -> None:
    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca, reload=reload_cmds(tmp_path, False))
    code, out, _err = mdfleet(member, "import", "--json", stdin=bundle)
    doc = json.loads(out)
    assert code == 1 and doc["action"] == "imported" and doc["reload"]["outcome"] == "config-test-failed"
    assert not (tmp_path / "reloads").exists() and not (tmp_path / "web2-events").exists()


def test_account_commands(stores, fake_ca, tmp_path) -> None:
    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca, account_holder=ISSUER)
    code, _out, err = mdfleet(member, "account", "ensure", "--json")
    assert code == 2 and "this host (web2) uses the fleet's ACME accounts held by web1" in err
    code, _out, err = mdfleet(member, "export", "account", "--ca", fake_ca.directory_url)
    assert code == 2 and "does not hold the fleet's ACME accounts: export them on web1" in err
    from mdcore.keys import generate_key, key_to_pem
    from mdcore.keytypes import key_spec

    pem = key_to_pem(generate_key(key_spec("p256")))
    code, out, err = mdfleet(member, "account", "import-key", "--ca", fake_ca.directory_url, "--json", "-", stdin=pem)
    doc = json.loads(out)
    assert code == 0 and doc["changed"] and doc["accounts"][0]["action"] == "imported"
    assert set(doc["accounts"][0]) == {"ca_url", "eab_kid", "ca_id", "action", "account_url", "key_thumbprint",
                                       "error", "changed"}
    assert "PRIVATE" not in out + err
    code, _out, err = mdfleet(member, "account", "import-key", "--ca", fake_ca.directory_url, stdin=b"junk")
    assert code == 1 and "not an unencrypted PEM private key" in err


BLOG = "blog"
BLOG_NAMES = ["blog.example"]


def _two_sets(issue, shared_cfg, stores, clock, bundle) -> list[bytes]:
    """The issuer's sets of two shared domains, exported: [shop, blog]."""
    from mdcore.fleet.share import export_set

    blog = shared_cfg(ISSUER, name=BLOG, domains=BLOG_NAMES)
    issue(blog)
    return [bundle, export_set(stores[ISSUER], blog, BLOG, ISSUER, clock)]


def _as_list(*bundles: bytes) -> bytes:
    return b"[" + b",".join(bundles) + b"]"


def _two_domain_member(tmp_path, stores, fake_ca, **top) -> Path:
    domains = [{"name": MD, "domains": ["shop.example", "www.shop.example"], "key_types": ["p256", "rsa2048"],
                "issuer": ISSUER, "members": [MEMBER, OTHER]},
               {"name": BLOG, "domains": BLOG_NAMES, "issuer": ISSUER, "members": [MEMBER, OTHER]}]
    return host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca, domains=domains, **top)


def test_one_import_takes_every_bundle_with_one_reload(bundle, stores, fake_ca, tmp_path, issue, shared_cfg,
                                                       clock) -> None:
    """A member's bundles in one `mdfleet import` (a JSON array): one lock, each bundle verified and
    activated alone, a bad one reported by its place while the others are imported, ONE reload."""
    shop, blog = _two_sets(issue, shared_cfg, stores, clock, bundle)
    member = _two_domain_member(tmp_path, stores, fake_ca, reload=reload_cmds(tmp_path))

    code, out, _err = mdfleet(member, "import", "--check", "--json", "-", stdin=_as_list(shop, blog))
    doc = json.loads(out)
    assert code == 0 and [e["action"] for e in doc["imports"]] == ["would_import", "would_import"]
    assert doc["reload"] is None and stores[MEMBER].active_set(MD) is None and stores[MEMBER].active_set(BLOG) is None

    code, out, err = mdfleet(member, "import", "--json", "-", stdin=_as_list(shop, b'{"kind": "set"}', blog))
    doc = json.loads(out)
    assert code == 1
    assert [(e["md"], e["action"]) for e in doc["imports"]] == [(MD, "imported"), (None, "failed"), (BLOG, "imported")]
    assert doc["imports"][1]["error"] == "bundle 2 of 3: not an mdfleet bundle (no mdfleet_bundle version)"
    assert "mdfleet: import failed: bundle 2 of 3" in err
    assert doc["changed"] and doc["reload"]["outcome"] == "reloaded"
    assert (tmp_path / "reloads").read_text() == "reload\n"  # one reload for both sets
    assert sorted((tmp_path / "web2-events").read_text().split("\n")) == ["", "installed blog", "installed shop"]
    for md in (MD, BLOG):
        assert stores[MEMBER].active_set(md).certs == stores[ISSUER].active_set(md).certs

    code, out, _err = mdfleet(member, "import", "--json", "-", stdin=_as_list(shop, blog))
    doc = json.loads(out)
    assert code == 0 and [e["action"] for e in doc["imports"]] == ["unchanged", "unchanged"]
    assert doc["reload"] is None and not doc["changed"]
    assert (tmp_path / "reloads").read_text() == "reload\n"


def test_a_bundle_list_reports_each_failure_and_a_failed_reload(bundle, stores, fake_ca, tmp_path, issue,
                                                                shared_cfg, clock) -> None:
    shop, blog = _two_sets(issue, shared_cfg, stores, clock, bundle)
    member = host_config(tmp_path, MEMBER, stores[MEMBER].root, fake_ca, reload=reload_cmds(tmp_path, False))
    code, out, _err = mdfleet(member, "import", "--json", stdin=_as_list(blog, shop))
    doc = json.loads(out)
    assert code == 1
    unknown, imported = doc["imports"]
    assert (unknown["md"], unknown["action"], unknown["kind"]) == (BLOG, "failed", "set")
    assert "blog" in unknown["error"] and stores[MEMBER].active_set(BLOG) is None
    assert (imported["md"], imported["action"]) == (MD, "imported")
    assert imported["error"] == "imported, but the web server's reload failed (config-test-failed)"
    assert doc["reload"]["outcome"] == "config-test-failed" and not (tmp_path / "reloads").exists()

    for bad, why in ((b"[]", "bundle list is empty"), (b"[" + shop, "bundle list is not valid JSON"),
                     (_as_list(*[b"1"] * 1001), "holds 1001 bundles, more than 1000")):
        code, out, err = mdfleet(member, "import", "--json", stdin=bad)
        assert code == 1 and why in json.loads(out)["error"] and why in err
