"""CA failover against real CAs: when the first CA refuses (a problem document) or cannot be reached,
the next one in `cas` issues, and the set records which CA it came from."""

from __future__ import annotations

import socket

from mdcore.clock import Clock
from mdcore.config import md_config_from_dict
from mdcore.manager import Action, ensure_md
from mdcore.store import Store

from .helpers import base_doc, verify_chain


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_first_ca_refuses_second_issues(pebble_eab, pebble, nginx_challenges, tmp_path):
    """pebble_eab requires External Account Binding and gets none: externalAccountRequired at
    newAccount. The second pebble (another CA: its own roots, accounts and HTTPS CA) issues."""
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    cfg = md_config_from_dict(base_doc(pebble_eab, domains=["failover.example"],
                                       cas=[{"url": pebble.directory_url, "ca_bundle": pebble.ca_bundle}]))
    result = ensure_md(store, cfg, Clock())
    assert result.action == Action.ORDER and result.changed and result.error is None
    assert store.active_set("failover.example").ca_url == pebble.directory_url
    verify_chain(pebble, tmp_path, result.certificates["p256"]["cert_path"], result.certificates["p256"]["chain_path"])


def test_unreachable_first_ca_fails_over_within_the_deadline(pebble, nginx_challenges, tmp_path):
    store = Store(str(tmp_path / "store"))
    nginx_challenges.serve(tmp_path / "store-challenges")
    dead = "https://127.0.0.1:%d/dir" % _unused_port()  # connection refused
    doc = base_doc(pebble, domains=["failover2.example"], request_timeout=5)
    doc.update(acme_directory=dead, ca_bundle=None, cas=[{"url": pebble.directory_url, "ca_bundle": pebble.ca_bundle}])
    result = ensure_md(store, md_config_from_dict(doc), Clock())
    assert result.action == Action.ORDER and result.changed
    assert store.active_set("failover2.example").ca_url == pebble.directory_url
