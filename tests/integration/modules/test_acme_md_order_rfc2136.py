"""mdfleet.md.acme_md_order with dns_provider rfc2136 through ansible-playbook, against the real BIND
of the DNS lab: the TSIG secret is no_log (never in the output, even at -vvvv), and a refused key
fails the task with the server's answer named; a weak algorithm is refused by the argument spec."""

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


def test_refused_key_and_bad_algorithm_fail_clearly(run_playbook, dns_servers: DnsLab, tmp_path) -> None:
    wrong = dns_servers.site("bind").key.wrong_secret()
    tasks = (_task("bad", dns_servers, tmp_path / "a", key_secret=wrong.secret)
             + _task("alg", dns_servers, tmp_path / "b", key_algorithm="hmac-md5")).replace(
        "      register: r\n", "      ignore_errors: true\n")
    proc, res = run_playbook(tasks, verbosity=3)
    assert "(NOTAUTH, BADSIG): the secret of key acme-update differs from the server's" in res["bad"]["msg"]
    assert wrong.secret not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    # refused by the argument spec, before the engine runs
    assert res["alg"]["failed"] and "key_algorithm" in res["alg"]["msg"] and "hmac-sha256" in res["alg"]["msg"]
