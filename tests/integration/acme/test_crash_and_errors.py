"""A kill -9 mid-renewal, and bad input: clear errors, store as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdcore.config import md_config_from_dict
from mdcore.errors import ConfigError, NetworkError, StoreError
from mdcore.manager import ensure_md
from mdcore.store import Store

from .helpers import HOOK, base_doc, dns_cfg, verify_chain

RUNNER = """
import json, sys
sys.path.insert(0, {utils!r})
from mdcore.config import md_config_from_dict
from mdcore.manager import ensure_md
from mdcore.store import Store
ensure_md(Store({store!r}), md_config_from_dict(json.loads({doc!r})), force=True)
"""


def snapshot(folder: str) -> dict:
    out = {}
    for base, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            out[os.path.relpath(path, folder)] = open(path, "rb").read()
    return out


def test_kill_9_mid_renewal_keeps_old_set_and_next_run_resumes(pebble_factory, challtestsrv, tmp_path):
    pebble = pebble_factory(env={"PEBBLE_AUTHZREUSE": "0"})
    store = Store(str(tmp_path / "store"))
    first = ensure_md(store, dns_cfg(pebble, challtestsrv, ["crash.example"]))
    before = snapshot(store.active_dir("crash.example"))
    # The renewal adds a name: its authorization is new, so the dns-01 hook (which kills the run)
    # is called even when pebble reuses crash.example's valid one (it did, despite AUTHZREUSE=0).
    names = ["crash.example", "more.crash.example"]
    doc = base_doc(pebble, domains=names, challenge="dns-01",
                   dns_command=[sys.executable, HOOK, challtestsrv.management_url, "kill-parent"])
    utils = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")
    proc = subprocess.run([sys.executable, "-c", RUNNER.format(utils=utils, store=store.root, doc=json.dumps(doc))],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    # the old set is complete and still the active one; the order in progress is remembered
    assert snapshot(store.active_dir("crash.example")) == before
    pending = store.pending_order("crash.example")
    assert pending and pending.orders["p256"]
    resumed = ensure_md(store, dns_cfg(pebble, challtestsrv, names), force=True)
    assert resumed.order_urls["p256"] == pending.orders["p256"]
    assert resumed.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]
    cert = resumed.certificates["p256"]
    verify_chain(pebble, tmp_path, cert["cert_path"], cert["chain_path"])


@pytest.mark.parametrize("names, message", [
    ([], "no names"),
    (["bad name.example"], "invalid domain name"),
    (["-lead.example"], "invalid domain name"),
    (["nodots"], "invalid domain name"),
    (["*.wild.example"], "wildcard names need dns-01"),
    (["dup.example", "DUP.example"], "lists a name twice"),
])
def test_invalid_names_fail_before_anything_is_written(pebble, tmp_path, names, message):
    store = Store(str(tmp_path / "store"))
    with pytest.raises(ConfigError, match=message):
        ensure_md(store, md_config_from_dict(base_doc(pebble, domains=names)))
    assert not os.path.exists(store.root)


def test_unreachable_directory_is_a_network_error(tmp_path):
    from peers.ports import free_port

    store = Store(str(tmp_path / "store"))
    doc = {"acme_directory": "https://127.0.0.1:%d/dir" % free_port(), "domains": ["down.example"],
           "agree_tos": True, "order_timeout": 10}
    with pytest.raises(NetworkError, match="cannot reach https://127.0.0.1"):
        ensure_md(store, md_config_from_dict(doc))
    assert store.active_set("down.example") is None


def test_unwritable_store_is_a_store_error(pebble, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="is not usable"):
        ensure_md(Store(str(blocker / "store")), md_config_from_dict(base_doc(pebble, domains=["w.example"])))
