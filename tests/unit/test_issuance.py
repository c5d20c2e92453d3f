"""issuance.obtain: what the CA sent is checked before it is written; file modes of a set."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mdcore.certs import split_pem_chain
from mdcore.config import MdConfig
from mdcore.errors import MdError
from mdcore.manager import MdResult
from mdcore.store import Store

from .fakeacme import FakeAcme

Run = Callable[..., MdResult]
MakeCfg = Callable[..., MdConfig]
MD = "www.example.org"


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_set_files_and_modes(run_md: Run, make_cfg: MakeCfg, store: Store, test_ca) -> None:
    result = run_md(make_cfg(key_types=["p256", "rsa2048"]))
    for kt, cert in result.certificates.items():
        assert _mode(cert["key_path"]) == 0o600
        for name in ("cert_path", "chain_path", "fullchain_path"):
            assert _mode(cert[name]) == 0o644
        with open(cert["key_path"], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), None)
        with open(cert["fullchain_path"], "rb") as handle:
            chain = split_pem_chain(handle.read())
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        assert chain[0].public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) == key.public_key().public_bytes(serialization.Encoding.DER, spki)
        assert chain[1] == test_ca.intermediate
        assert (kt == "rsa2048") == (key.key_size == 2048)
        with open(cert["chain_path"], "rb") as handle:
            assert [c.subject for c in split_pem_chain(handle.read())] == [test_ca.intermediate.subject]
    assert _mode(os.path.join(store.active_dir(MD), "set.json")) == 0o644


def test_certificate_for_another_key_is_rejected(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store, clock
) -> None:
    fake_ca.wrong_key = True
    with pytest.raises(MdError, match="certificate for another key"):
        run_md(make_cfg())
    assert store.active_set(MD) is None
    assert not os.path.exists(os.path.join(store.staging_dir(MD), "p256", "fullchain.pem"))
    # The order that produced it is not resumed: resuming would download the same bad certificate.
    fake_ca.wrong_key = False
    clock.advance(3600 * 2)
    result = run_md(make_cfg())
    assert result.changed and fake_ca.count("newOrder") == 2


def test_certificate_without_all_names_is_rejected(
    run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme, store: Store
) -> None:
    fake_ca.cert_names = ["www.example.org"]
    with pytest.raises(MdError, match="without example.org"):
        run_md(make_cfg(["www.example.org", "example.org"]))
    assert store.active_set(MD) is None


def test_ip_address_certificate(run_md: Run, make_cfg: MakeCfg) -> None:
    result = run_md(make_cfg(["192.0.2.7"], name="ip-host"))
    with open(result.certificates["p256"]["cert_path"], "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.7"]
    assert result.certificates["p256"]["names"] == ["192.0.2.7"]


def test_account_is_shared_by_domains_of_one_ca(run_md: Run, make_cfg: MakeCfg, fake_ca: FakeAcme) -> None:
    run_md(make_cfg(["a.example.org"]))
    run_md(make_cfg(["b.example.org"]))
    assert fake_ca.count("newAccount") == 1
