"""mdfleet.md.acme_md_order with dns_provider rfc2136 through ansible-playbook, against the real BIND
of the DNS lab: the TSIG secret is no_log (never in the output, even at -vvvv), and a refused key
fails the task with the server's answer named."""

from __future__ import annotations

import json

import pytest

from peers.dnslab import DnsLab

pytest.importorskip("ansible", reason="ansible-core is only in the venv")


def _task(name: str, lab: DnsLab, store, **rfc2136) -> str:
    site = lab.site("bind")
    args = {"domains": ["*.mod.bind.test", "mod.bind.test"], "acme_directory": site.pebble.directory_url,
            "ca_bundle": site.pebble.ca_bundle, "agree_tos": True, "store": str(store), "challenge": "dns-01",
            "dns_provider": "rfc2136", "rfc2136": site.rfc2136(**rfc2136)}
    return "    - name: %s\n      mdfleet.md.acme_md_order: %s\n      register: r\n" % (name, json.dumps(args))


def test_rfc2136_through_the_module(run_playbook, dns_servers: DnsLab, tmp_path) -> None:
    secret = dns_servers.site("bind").key.secret
    proc, res = run_playbook(_task("order", dns_servers, tmp_path / "store"), verbosity=4)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(res["order"]["certificates"]["p256"]["names"]) == ["*.mod.bind.test", "mod.bind.test"]
    assert secret not in proc.stdout + proc.stderr
    assert dns_servers.bind.acme_txt_records("bind.test") == []


def test_refused_key_fails_the_task_clearly(run_playbook, dns_servers: DnsLab, tmp_path) -> None:
    wrong = dns_servers.site("bind").key.wrong_secret()
    proc, res = run_playbook(_task("bad", dns_servers, tmp_path / "store", key_secret=wrong.secret), verbosity=3)
    assert proc.returncode != 0
    assert "(NOTAUTH, BADSIG): the secret of key acme-update differs from the server's" in res["bad"]["msg"]
    assert wrong.secret not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_bad_algorithm_is_refused_by_the_argument_spec(run_playbook, dns_servers: DnsLab, tmp_path) -> None:
    proc, res = run_playbook(_task("alg", dns_servers, tmp_path / "store", key_algorithm="hmac-md5"))
    assert proc.returncode != 0
    assert "key_algorithm" in res["alg"]["msg"] and "hmac-sha256" in res["alg"]["msg"]
