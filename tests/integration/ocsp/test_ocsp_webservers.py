"""Real web servers serving what the engine writes: nginx (ssl_stapling_file, `openssl s_client
-status` sees it, a reload picks up a new one) and haproxy 2.6 (loads <crt>.ocsp at start, takes a
new response over its stats socket without a reload). All on 127.0.0.1 in a private namespace."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from mdcore.clock import Clock
from mdcore.ocsp import OcspStatus, StaplingConfig, managed_targets, refresh_staples
from peers.nginx import NGINX, Nginx, TlsSite
from peers.require import need

from .haproxy_peer import HAPROXY, Haproxy
from .util import haproxy_bundle, managed_leaf, s_client_status

SECOND = datetime.timedelta(seconds=1)


def staple_seen(output: str) -> tuple[str, str]:
    """(OCSP response status, cert status) from `openssl s_client -status` output."""
    assert "OCSP response: no response sent" not in output, output
    status = re.search(r"OCSP Response Status: (\w+)", output)
    cert = re.search(r"Cert Status: (\w+)", output)
    assert status and cert, output
    return status.group(1), cert.group(1)


def this_update_seen(output: str) -> str:
    return re.search(r"This Update: (.+)", output).group(1).strip()


def test_nginx_serves_the_staple_file(tmp_path, pki, responder, web):
    nginx_bin = need(NGINX)
    leaf, store = managed_leaf(tmp_path, pki, responder, "nginx.test")
    staple = web / "nginx.test.der"
    targets = managed_targets(store, {leaf.name: {"staple_file": str(staple)}})
    [first] = refresh_staples(store, targets, Clock())
    assert first.status == OcspStatus.GOOD and str(staple) in first.changed_files

    site = TlsSite(cert=Path(leaf.fullchain_path), key=Path(leaf.key_path), stapling_file=staple,
                   server_name=leaf.name)
    with Nginx(tmp_path / "nginx", tls_sites=[site], binary=nginx_bin) as nginx:
        out = s_client_status(site.port, leaf.name)
        assert staple_seen(out) == ("successful", "good")
        # revoked at the CA: the next refresh writes the new staple, a reload serves it
        pki.revoke(leaf, "key_compromise")
        responder.update_index()
        [second] = refresh_staples(store, targets, Clock(), now=first.refresh_at + SECOND)
        assert second.status == OcspStatus.REVOKED and second.changed_files
        nginx.reload()
        assert staple_seen(s_client_status(site.port, leaf.name)) == ("successful", "revoked")
        # nothing due: the file is not rewritten (no reload needed)
        [third] = refresh_staples(store, targets, Clock())
        assert not third.changed


def test_haproxy_loads_ocsp_file_and_takes_runtime_update(tmp_path, pki, responder, web):
    haproxy_bin = need(HAPROXY)
    leaf, store = managed_leaf(tmp_path, pki, responder, "haproxy.test")
    crt, ocsp_file = haproxy_bundle(web, leaf, "haproxy.test.pem")
    targets = managed_targets(store, {leaf.name: {"haproxy_ocsp_file": ocsp_file}})
    [first] = refresh_staples(store, targets, Clock())
    assert first.status == OcspStatus.GOOD and ocsp_file in first.changed_files

    with Haproxy(tmp_path / "haproxy", str(crt), binary=haproxy_bin) as haproxy:
        out = s_client_status(haproxy.port, leaf.name)
        assert staple_seen(out) == ("successful", "good")
        before = this_update_seen(out)
        # revoked at the CA: pushed over the stats socket, served without a reload
        pki.revoke(leaf, "superseded")
        responder.update_index()
        config = StaplingConfig(haproxy_socket=haproxy.socket)
        [second] = refresh_staples(store, targets, Clock(), now=first.refresh_at + SECOND, config=config)
        assert second.status == OcspStatus.REVOKED and second.haproxy_updated, second.output_errors
        assert second.output_errors == []
        out = s_client_status(haproxy.port, leaf.name)
        assert staple_seen(out) == ("successful", "revoked")
        assert this_update_seen(out) != before or "Revocation Time" in out
        # pushed once: the next run has nothing to send
        [third] = refresh_staples(store, targets, Clock(), config=config)
        assert not third.haproxy_updated and not third.changed
