"""md-status served by the role's nginx glue, as Apache's mod_md serves its md-status handler: a
world-readable copy of the status views (the store's own is root-only), for the allowed addresses
only, with mod_md's key names when asked."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .conftest import ok


def get(address: str, port: int, host: str, path: str) -> tuple[int, str, str]:
    request = urllib.request.Request("http://%s:%d%s" % (address, port, path), headers={"Host": host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=15) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), ""


def test_published_md_status_for_allowed_addresses_only(fleet_run, tmp_path):
    run = fleet_run(1)
    (host,) = run.fleet.hosts
    name = run.name("status")
    run.point([name], host.address)
    publish = host.root / "md-status"
    own = {"managed_domains_domains": [{"domains": [name], "site": {"root": "{{ fleet_test_site_root }}"}}],
           "managed_domains_status_publish_dir": str(publish), "managed_domains_status_key_names": "mod_md",
           "managed_domains_status_allow": ["127.0.0.1"]}
    inventory = run.fleet.inventory(tmp_path / "hosts.json", {"managed_domains_defaults": run.defaults()},
                                    {host.name: own})
    ok(run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0])
    status, ctype, body = get(host.address, host.http_port, name, "/md-status/md-status.json")
    assert status == 200 and ctype.startswith("application/json"), (status, ctype)
    doc = json.loads(body)
    assert doc["key-names"] == "mod_md" and "secp256r1" in doc["managed-domains"][0]["cert"]
    status, ctype, body = get(host.address, host.http_port, name, "/md-status/")
    assert status == 200 and ctype.startswith("text/html") and "Managed domains on" in body
    assert get(host.address, host.http_port, name, "/md-status/domains/%s.json" % name)[0] == 200
    assert (publish.stat().st_mode & 0o777) == 0o755 and (host.store.stat().st_mode & 0o777) == 0o700
    # another allow list: this machine's requests (from 127.0.0.1) are refused
    own["managed_domains_status_allow"] = ["127.0.0.99"]
    inventory = run.fleet.inventory(tmp_path / "hosts.json", {"managed_domains_defaults": run.defaults()},
                                    {host.name: own})
    ok(run.play("deploy.yml", inventory, "-e", "deploy_hosts=web")[0])
    assert get(host.address, host.http_port, name, "/md-status/md-status.json")[0] == 403
    assert run.counts()["certificates"] == 1  # the second deploy ordered nothing
