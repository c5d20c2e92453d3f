"""mdfleet.md.acme_md_order through ansible-playbook: idempotence, check mode, errors, no_log."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from peers.nginx import NGINX, Nginx
from peers.require import need

# Runs from the venv (ansible-core there); the Debian-python run has no Ansible and skips it.
pytest.importorskip("ansible", reason="ansible-core is only in the venv")


def order_task(name: str, pebble, store, **extra) -> str:
    args = {"domains": ["mod.example", "www.mod.example"], "acme_directory": pebble.directory_url,
            "ca_bundle": pebble.ca_bundle, "http01_mode": "standalone", "standalone_address": "127.0.0.1",
            "standalone_port": pebble.http_port, "agree_tos": True, "store": str(store)}
    args.update(extra)
    return "    - name: %s\n      mdfleet.md.acme_md_order: %s\n      register: r\n" % (name, json.dumps(args))


def test_check_order_again_and_check_again(run_playbook, pebble_standalone, tmp_path):
    store = tmp_path / "store"
    tasks = (order_task("plan", pebble_standalone, store).replace("register: r", "check_mode: true")
             + order_task("order", pebble_standalone, store)
             + order_task("again", pebble_standalone, store)
             + order_task("plan again", pebble_standalone, store).replace("register: r", "check_mode: true"))
    proc, res = run_playbook(tasks)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert res["plan"]["changed"] and res["plan"]["plan"] == "order" and res["plan"]["certificates"] == {}
    assert res["order"]["changed"] and res["order"]["plan"] == "order"
    cert = res["order"]["certificates"]["p256"]
    assert sorted(cert["names"]) == ["mod.example", "www.mod.example"] and cert["key_path"].endswith("privkey.pem")
    assert res["again"]["changed"] is False and res["again"]["plan"] == "none"
    assert res["plan again"]["changed"] is False
    assert res["again"]["certificates"]["p256"]["serial"] == cert["serial"]
    assert "BEGIN" not in proc.stdout  # no key (nor certificate) material in the output


def test_runs_under_debian_python(run_playbook, pebble_standalone, tmp_path):
    proc, res = run_playbook(order_task("order", pebble_standalone, tmp_path / "store"), python="/usr/bin/python3")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert res["order"]["changed"]


def test_bad_input_fails_cleanly_without_traceback(run_playbook, pebble_standalone, tmp_path):
    store = tmp_path / "store"
    proc, res = run_playbook(order_task("wild", pebble_standalone, store, domains=["*.x.example"]), verbosity=3)
    assert proc.returncode != 0
    assert res["wild"]["failed"] and "wildcard names need dns-01" in res["wild"]["msg"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not store.exists()


def test_unreachable_ca_fails_cleanly(run_playbook, tmp_path):
    from peers.ports import free_port

    task = ("    - name: down\n      mdfleet.md.acme_md_order:\n        domains: [down.example]\n"
            "        acme_directory: https://127.0.0.1:%d/dir\n        store: %s\n" % (free_port(), tmp_path / "s"))
    proc, res = run_playbook(task)
    assert res["down"]["failed"] and "cannot reach" in res["down"]["msg"]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_eab_secret_is_never_shown(run_playbook, pebble_eab, nginx_challenges, tmp_path):
    kid, hmac_key = next(iter(pebble_eab.eab_keys.items()))
    store = tmp_path / "store"
    nginx_challenges.serve(store.with_name(store.name + "-challenges"))
    args = {"domains": ["eabmod.example"], "acme_directory": pebble_eab.directory_url,
            "ca_bundle": pebble_eab.ca_bundle, "agree_tos": True, "store": str(store),
            "eab_kid": kid, "eab_hmac_key": hmac_key}
    proc, res = run_playbook("    - name: eab\n      mdfleet.md.acme_md_order: %s\n" % json.dumps(args), verbosity=4)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["eab"]["changed"]
    assert hmac_key not in proc.stdout + proc.stderr


def test_default_challenges_folder_is_served_by_unprivileged_workers(run_playbook, pebble_factory, tmp_path):
    """The module's own example: webroot with the default challenges folder, served by a web server
    whose workers are not root (Debian's nginx: www-data). The folder used to sit inside the 0700
    store, so nginx answered 403 and the CA refused the validation."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run nginx workers as another user")
    base = tempfile.mkdtemp(prefix="mdfleet-webroot-")  # traversable by the workers, as /var/lib is
    os.chmod(base, 0o755)
    store = os.path.join(base, "store")
    try:
        web = os.path.join(base, "nginx")
        os.makedirs(web, mode=0o755)
        with Nginx(Path(web), challenges_dir=Path(store + "-challenges"), binary=need(NGINX),
                   worker_user="nobody nogroup") as nginx:
            pebble = pebble_factory(http_port=nginx.http_port)
            args = {"domains": ["webroot.example"], "acme_directory": pebble.directory_url,
                    "ca_bundle": pebble.ca_bundle, "agree_tos": True, "store": store}
            proc, res = run_playbook("    - name: webroot\n      mdfleet.md.acme_md_order: %s\n" % json.dumps(args))
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert res["webroot"]["changed"] and res["webroot"]["certificates"]["p256"]["serial"]
        assert (os.stat(store).st_mode & 0o777) == 0o700
        assert (os.stat(store + "-challenges").st_mode & 0o777) == 0o755
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_challenges_folder_inside_the_store_is_refused(run_playbook, tmp_path):
    store = tmp_path / "store"
    args = {"domains": ["inside.example"], "acme_directory": "https://127.0.0.1:1/dir", "store": str(store),
            "challenges_dir": str(store / "challenges")}
    proc, res = run_playbook("    - name: inside\n      mdfleet.md.acme_md_order: %s\n" % json.dumps(args))
    assert proc.returncode != 0 and "inside the store" in res["inside"]["msg"]
    assert "Traceback" not in proc.stdout


def test_account_key_rollover_check_mode_predicts_the_change(run_playbook, pebble_standalone, tmp_path):
    store = tmp_path / "store"
    tasks = (order_task("order", pebble_standalone, store)
             + order_task("plan rollover", pebble_standalone, store, account_key_rollover=True)
             .replace("register: r", "check_mode: true")
             + order_task("rollover", pebble_standalone, store, account_key_rollover=True))
    proc, res = run_playbook(tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["plan rollover"]["changed"] is True and res["plan rollover"]["account_key_thumbprint"] is None
    assert res["rollover"]["changed"] is True and res["rollover"]["account_key_thumbprint"]
    assert "BEGIN" not in proc.stdout


def test_domain_without_certificate_fails_also_while_backing_off(run_playbook, pebble_standalone, tmp_path):
    """After a failed first order the next run used to say ok, changed=false, plan=backoff,
    certificates={} and nothing else: a task whose domain has no certificate now fails, naming the
    last error and the next attempt."""
    store = tmp_path / "store"
    # webroot: tokens go to a folder nobody serves, so pebble's validation on its http port fails
    failing = order_task("first", pebble_standalone, store, http01_mode="webroot", domains=["nocert.example"])
    proc, res = run_playbook(failing + failing.replace("name: first", "name: again"))
    assert proc.returncode != 0
    assert res["first"]["failed"] and "CA refused validation" in res["first"]["msg"]
    proc, res = run_playbook(failing.replace("name: first", "name: again"))
    again = res["again"]
    assert proc.returncode != 0 and again["failed"] and again["plan"] == "backoff"
    assert again["msg"].startswith("managed domain nocert.example has no valid certificate: the last order failed "
                                   "(CA refused validation")
    assert "next attempt at 20" in again["msg"] and again["retry_at"] and again["certificates"] == {}


def test_failing_renewal_of_a_valid_certificate_warns(run_playbook, pebble_standalone, tmp_path):
    store = tmp_path / "store"
    good = order_task("order", pebble_standalone, store, domains=["warn.example"])
    from peers.ports import free_port

    # a forced renewal through a CA that does not answer (pebble may reuse a valid authorization, so a
    # broken challenge set-up would not make it fail)
    broken = order_task("forced", pebble_standalone, store, domains=["warn.example"], force=True,
                        acme_directory="https://127.0.0.1:%d/dir" % free_port())
    proc, res = run_playbook(good + broken)
    assert res["order"]["changed"] and res["forced"]["failed"]
    proc, res = run_playbook(order_task("later", pebble_standalone, store, domains=["warn.example"]))
    assert proc.returncode == 0 and res["later"]["valid"] and res["later"]["plan"] == "none"
    assert any("renewal of warn.example keeps failing (cannot reach https://127.0.0.1:" in w
               for w in res["later"]["warnings"]), res["later"].get("warnings")


@pytest.mark.parametrize("damaged", ["set", "job"])
def test_corrupt_store_file_is_named(run_playbook, pebble_standalone, tmp_path, damaged):
    """A store file that does not read is named in the result, never "Module failed: Expecting value"
    naming nothing (issue 10 item 7); a job file (derived state) is set aside and rebuilt, so the task
    goes on, warning that it did."""
    store = tmp_path / "store"
    proc, res = run_playbook(order_task("order", pebble_standalone, store))
    assert proc.returncode == 0, proc.stdout[-3000:]
    path = {"set": store / "domains" / "mod.example" / "set.json", "job": store / "jobs" / "mod.example.json"}[damaged]
    path.write_text("[1]")
    proc, res = run_playbook(order_task("again", pebble_standalone, store))
    assert "Traceback" not in proc.stdout + proc.stderr and "Module failed" not in proc.stdout
    if damaged == "job":
        assert proc.returncode == 0 and res["again"]["plan"] == "none", res["again"]
        assert list((store / "jobs").glob("mod.example.json.corrupt-*"))
        assert any(str(path) in w and "set aside" in w for w in res["again"].get("warnings", [])), res["again"]
    else:  # a failure naming it (or, where the damaged set is replaced by a new order, its damage)
        assert str(path) in "%s %s" % (res["again"].get("msg"), res["again"].get("damage")), res["again"]


@pytest.mark.parametrize("damaged", ["account.json", "account.key.pem"])
def test_corrupt_account_files_through_the_module(run_playbook, pebble_standalone, tmp_path, damaged):
    """An order that needs the account (forced) with its account.json corrupt: set aside, the account
    found again with its key, the task goes on and warns naming the file. With its key corrupt: a
    failure naming the key, which is never replaced (the account is bound to it). Never a traceback
    (issue 10 item 7)."""
    store = tmp_path / "store"
    proc, res = run_playbook(order_task("order", pebble_standalone, store))
    assert proc.returncode == 0, proc.stdout[-3000:]
    (path,) = (store / "accounts").glob("*/" + damaged)
    path.write_bytes(b"[1]\n" if damaged == "account.json" else b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    proc, res = run_playbook(order_task("again", pebble_standalone, store, force=True))
    again = res["again"]
    assert "Traceback" not in proc.stdout + proc.stderr and "Module failed" not in proc.stdout, proc.stdout[-3000:]
    if damaged == "account.json":
        assert proc.returncode == 0 and again["changed"], again
        assert any(str(path) in w and "set aside as account.json.corrupt-" in w for w in again.get("warnings", [])), \
            again.get("warnings")
        assert list(path.parent.glob("account.json.corrupt-*")) and json.loads(path.read_text())["url"]
    else:
        assert again["failed"] and again["msg"].startswith("%s is corrupt" % path), again["msg"]
        assert "cannot be rebuilt" in again["msg"] and "\n" not in again["msg"]
        assert path.read_bytes() == b"-----BEGIN PRIVATE KEY-----\ngarbage\n"  # never replaced


@pytest.mark.parametrize("bad, says", [
    ('order_timeout: "nan"', "order_timeout: must be seconds (a number) or a duration such as '90s'"),
    ("order_timeout: .nan", "order_timeout: must be seconds"),
    ("order_timeout: .inf", "order_timeout: must be seconds"),
    ("request_timeout: 0", "request_timeout: must be more than 0 seconds"),
    ("acme_directory: http://ca.example/dir", "must be an https:// URL (http:// only for a CA on a loopback"),
    ('dns_propagation_seconds: "1e9"', "dns_propagation_seconds: must be seconds"),
    ("store: relative/store", "store: must be an absolute path, not 'relative/store'"),
])
def test_bad_parameters_fail_naming_them(run_playbook, tmp_path, bad, says):
    """Values Ansible's own types let through (a float NaN, a string for a raw duration) are the engine's
    to refuse: a clean failure naming the parameter, never a traceback (issue 10 item 7)."""
    args = {"domains": ["bad.example"], "acme_directory": "https://127.0.0.1:1/dir", "store": str(tmp_path / "s")}
    key = bad.split(":")[0]
    args.pop(key, None)
    lines = "".join("        %s: %s\n" % (k, json.dumps(v)) for k, v in args.items())
    proc, res = run_playbook("    - name: bad\n      mdfleet.md.acme_md_order:\n%s        %s\n" % (lines, bad))
    assert res["bad"]["failed"] and says in res["bad"]["msg"], res["bad"]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "s").exists()


def test_durations_take_units_and_old_window_spellings_are_deprecated(run_playbook, tmp_path):
    """A duration is seconds or a number with a unit; a window's bare number still means days, with a
    deprecation warning (checked in check mode: nothing is ordered, the CA is never asked)."""
    args = {"domains": ["dur.example"], "acme_directory": "https://127.0.0.1:1/dir", "store": str(tmp_path / "s"),
            "order_timeout": "5m", "request_timeout": 20, "renew_window": "30", "key_types": ["secp384r1", "rsa"]}
    task = "    - name: dur\n      mdfleet.md.acme_md_order: %s\n      check_mode: true\n" % json.dumps(args)
    proc, res = run_playbook(task)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert res["dur"]["plan"] == "order"
    assert any("a bare number (30) in a window means days" in d["msg"] for d in res["dur"]["deprecations"])
