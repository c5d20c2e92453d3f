"""haproxy 2.6 loaded a certificate without a `.ocsp` file (every new certificate): it refuses a
runtime `set ssl ocsp-response` for it. The staple file is written all the same and haproxy reads
it at its next reload, so this is reported as a warning, never as a failed run."""

from __future__ import annotations

from mdcore.clock import Clock
from mdcore.ocsp import OcspStatus, StaplingConfig, managed_targets, refresh_staples
from peers.require import need

from .haproxy_peer import HAPROXY, Haproxy
from .util import haproxy_bundle, managed_leaf, s_client_status


def test_runtime_refusal_for_a_certificate_loaded_without_ocsp_file(tmp_path, pki, responder, web):
    haproxy_bin = need(HAPROXY)
    leaf, store = managed_leaf(tmp_path, pki, responder, "fresh.haproxy.test")
    crt, ocsp_file = haproxy_bundle(web, leaf, "fresh.pem")
    targets = managed_targets(store, {leaf.name: {"haproxy_ocsp_file": ocsp_file}})
    with Haproxy(tmp_path / "haproxy", str(crt), binary=haproxy_bin) as haproxy:  # no .ocsp yet
        [res] = refresh_staples(store, targets, Clock(), config=StaplingConfig(haproxy_socket=haproxy.socket))
        assert res.status == OcspStatus.GOOD and ocsp_file in res.changed_files
        assert res.output_errors == []
        assert not res.haproxy_updated and res.warnings and "next reload" in res.warnings[0]
    with Haproxy(tmp_path / "haproxy2", str(crt), binary=haproxy_bin) as haproxy:  # the reload
        assert "OCSP Response Status: successful" in s_client_status(haproxy.port, leaf.name)
