"""http-01 behind a real round-robin balancer: nginx in front of 3 members, a shared domain with 3 names
(one validation each, so round robin sends them to different members); the members forward the
challenges to the issuer, and the CA sees no failed validation."""

from __future__ import annotations

import re

import pytest

from peers.fleet import HostNginx

from .conftest import ok, serials


@pytest.mark.timeout(1800)
def test_round_robin_balancer(fleet_run, tmp_path):
    run = fleet_run(3, spare=1)
    lb_address = run.fleet.spare_addresses[0]
    names = [run.name("lb%d" % i) for i in (1, 2, 3)]
    upstream = "".join("        server %s:%d;\n" % (h.address, h.http_port) for h in run.fleet.hosts)
    balancer = HostNginx(tmp_path / "balancer", lb_address, run.fleet.http_port, extra_http=(
        "    upstream members {\n%s    }\n"
        "    server {\n        listen %s:%d;\n        server_name %s;\n"
        "        location / { proxy_pass http://members; proxy_set_header Host $host; }\n    }\n"
        % (upstream, lb_address, run.fleet.http_port, " ".join(names)))).start()
    try:
        run.point(names, lb_address)
        shared = {"name": "lb", "domains": names, "issuer": "h1", "site": {"root": "{{ fleet_test_site_root }}"}}
        inventory = run.fleet.inventory(tmp_path / "hosts.json", {"managed_domains_defaults": run.defaults(),
                                                                  "managed_domains_domains": [shared]})
        ok(run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0])
        log = balancer.access_log.read_text()
    finally:
        balancer.stop()
    assert run.counts()["certificates"] == 1 and run.counts()["invalid_authorizations"] == 0
    served = serials(run, "lb1")
    assert len(set(served.values())) == 1, served
    # the CA's fetches went through the balancer to every member (round robin), each answered
    fetched = re.findall(r'"GET /\.well-known/acme-challenge/\S+ HTTP/1\.[01]" (\d+) upstream=(\S+)', log)
    assert fetched and {status for status, _upstream in fetched} == {"200"}, log
    assert {upstream.rsplit(":", 1)[0] for _status, upstream in fetched} == {h.address for h in run.fleet.hosts}, log
