"""Certificates issued by the engine from pebble (with ocspResponderURL), stapled from a real
`openssl ocsp` that signs as pebble's intermediate (its key from the management port)."""

from __future__ import annotations

import datetime
import os

from cryptography import x509

from mdcore.clock import Clock
from mdcore.config import md_config_from_dict
from mdcore.manager import Reason, ensure_md
from mdcore.ocsp import OcspStatus, StapleAction, managed_targets, refresh_staples, staple_state
from mdcore.store import Store
from peers.ocsp_pki import Leaf, OcspTestCA
from peers.ocsp_responder import OpensslOcspResponder, private_netns
from peers.ports import free_port
from peers.require import need

from .util import cert_status, read

SECOND = datetime.timedelta(seconds=1)
MD = "ocsp.pebble.example"


def test_pebble_certificate_stapled_with_pebble_intermediate(pebble_factory, tmp_path):
    need("openssl")
    port = free_port()
    url = "http://127.0.0.1:%d/" % port
    pebble = pebble_factory(ocsp_url=url)  # in the host's namespace, with the shared challtestsrv
    store = Store(str(tmp_path / "store"), Clock())
    cfg = md_config_from_dict({
        "domains": [MD], "acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle,
        "agree_tos": True, "http01_mode": "standalone", "standalone_address": "127.0.0.1",
        "standalone_port": pebble.http_port, "key_types": ["p256", "rsa2048"],
    })
    issued = ensure_md(store, cfg)
    assert set(issued.certificates) == {"p256", "rsa2048"}
    assert all(c["ocsp_url"] == url for c in issued.certificates.values())
    issuer = OcspTestCA.from_pem(str(tmp_path / "pebble-intermediate"), pebble.intermediate_pem().encode(),
                                 pebble.intermediate_key_pem().encode())
    for kt, facts in issued.certificates.items():
        cert = x509.load_pem_x509_certificate(read(facts["cert_path"]))
        issuer.leaves.append(Leaf("%s-%s" % (MD, kt), cert, None, os.path.dirname(facts["cert_path"])))

    with private_netns():
        with OpensslOcspResponder(tmp_path / "ocsp", issuer, port=port) as responder:
            targets = managed_targets(store)
            results = {r.key_type: r for r in refresh_staples(store, targets, Clock())}
            for kt, res in results.items():
                assert (res.action, res.status) == (StapleAction.FETCHED, OcspStatus.GOOD), kt
                assert res.responder == url
                assert cert_status(read(res.store_file)) == "good"
                assert staple_state(store, MD, kt).responder_id == "issuer"  # signed by the intermediate
            # the CA revokes the RSA certificate: picked up at the next refresh, renewal flagged
            rsa_leaf = next(x for x in issuer.leaves if x.name.endswith("rsa2048"))
            issuer.revoke(rsa_leaf, "key_compromise")
            responder.update_index()
            later = min(r.refresh_at for r in results.values()) + SECOND
            after = {r.key_type: r for r in refresh_staples(store, targets, Clock(), now=later)}
    assert after["rsa2048"].status == OcspStatus.REVOKED and after["rsa2048"].new_key_required
    assert after["p256"].status == OcspStatus.GOOD and not after["p256"].renew_required
    # revoked is an emergency: the next plan renews the revoked certificate, and only once
    planned = ensure_md(store, cfg, check_mode=True)
    assert Reason.REVOKED in planned.reasons
    renewed = ensure_md(store, cfg)
    assert renewed.certificates["rsa2048"]["serial"] != issued.certificates["rsa2048"]["serial"]
    assert Reason.REVOKED not in ensure_md(store, cfg, check_mode=True).reasons
