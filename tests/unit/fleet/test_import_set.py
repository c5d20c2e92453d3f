"""Import of a shared set on a member: verified before anything is written (each bad bundle a clear
error naming md, key type and what), then staging + Store.activate; idempotent; an older bundle is
refused with a warning; a crash at any write point leaves a complete set."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import stat
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mdcore.clock import FakeClock, to_iso
from mdcore.config import MdConfig
from mdcore.fleet.bundle import BundleError, parse_bundle
from mdcore.fleet.share import ImportAction, export_set, import_set
from mdcore.keys import key_to_pem
from mdcore.store import Store

from ..fakeacme import Crash
from ..helpers import tree
from ..testca import TestCA
from .conftest import ISSUER, MD, MEMBER, OTHER, edit
from .test_bundle import assert_no_key_text

Cfg = Callable[..., MdConfig]
KEYS = ["p256", "rsa2048"]


def member_cfg(shared_cfg: Cfg, host: str = MEMBER, **options) -> MdConfig:
    options.setdefault("key_types", KEYS)
    return shared_cfg(host, **options)


def do_import(store: Store, cfg: MdConfig | None, data: bytes, clock: FakeClock, check: bool = False):
    return import_set(store, cfg, parse_bundle(data), cfg.fleet_host if cfg else MEMBER, clock, check=check)


def fingerprints(store: Store) -> dict[str, str]:
    info = store.active_set(MD)
    return {kt: c.sha256_fingerprint for kt, c in (info.certs if info else {}).items()}


def complete(store: Store) -> bool:
    info = store.active_set(MD)
    if info is None:
        return False
    return all(os.path.isfile(os.path.join(store.active_dir(MD), kt, name))
               for kt in info.key_types for name in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"))


def test_import_activates_the_issuers_set_with_its_modes(bundle, stores, shared_cfg, clock) -> None:
    member = stores[MEMBER]
    result = do_import(member, member_cfg(shared_cfg), bundle, clock)
    assert (result.action, result.changed, result.issuer) == (ImportAction.IMPORTED, True, ISSUER)
    issuer_set = stores[ISSUER].active_set(MD)
    assert fingerprints(member) == fingerprints(stores[ISSUER])
    assert result.serials == {kt: issuer_set.certs[kt].serial for kt in KEYS}
    info = member.active_set(MD)
    assert info.imported.source == ISSUER and to_iso(info.imported.at) == "2026-11-29T12:00:00Z"
    assert info.orders == issuer_set.orders and info.account_url == issuer_set.account_url
    for kt in KEYS:
        folder = os.path.join(member.active_dir(MD), kt)
        assert stat.S_IMODE(os.stat(os.path.join(folder, "privkey.pem")).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        for name in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"):
            with open(os.path.join(folder, name), "rb") as a, \
                    open(os.path.join(stores[ISSUER].active_dir(MD), kt, name), "rb") as b:
                assert a.read() == b.read(), (kt, name)
    assert os.readlink(member.active_dir(MD)).endswith("archive/shop.1")
    assert not os.path.exists(member.staging_dir(MD))
    job = json.loads(open(member.job_path(MD)).read())
    assert job["log"][-1]["type"] == "imported" and "from web1" in job["log"][-1]["detail"]
    assert job["config"]["fleet"] == {"issuer": ISSUER, "members": [MEMBER, OTHER], "issued_here": False}


def test_second_import_is_unchanged_and_writes_nothing(bundle, stores, shared_cfg, clock) -> None:
    member = stores[MEMBER]
    do_import(member, member_cfg(shared_cfg), bundle, clock)
    before = tree(member.root)
    clock.advance(3600)
    again = do_import(member, member_cfg(shared_cfg), bundle, clock)
    assert (again.action, again.changed) == (ImportAction.UNCHANGED, False)
    assert tree(member.root) == before


def test_check_says_what_it_would_do_and_writes_nothing(bundle, stores, shared_cfg, clock) -> None:
    member = stores[MEMBER]
    before = tree(member.root)
    result = do_import(member, member_cfg(shared_cfg), bundle, clock, check=True)
    assert (result.action, result.changed) == (ImportAction.WOULD_IMPORT, True)
    assert tree(member.root) == before


def test_a_renewed_set_replaces_and_an_older_one_is_refused(bundle, stores, shared_cfg, issue, clock) -> None:
    member = stores[MEMBER]
    do_import(member, member_cfg(shared_cfg), bundle, clock)
    clock.advance(86400)
    renewed = issue(shared_cfg(ISSUER, key_types=KEYS), force=True)
    newer = export_set(stores[ISSUER], shared_cfg(ISSUER, key_types=KEYS), MD, ISSUER, clock)
    result = do_import(member, member_cfg(shared_cfg), newer, clock)
    assert result.action == ImportAction.IMPORTED
    assert result.serials == {kt: renewed.certificates[kt]["serial"] for kt in KEYS}
    assert os.readlink(member.active_dir(MD)).endswith("archive/shop.2")
    before = tree(member.root)
    old = do_import(member, member_cfg(shared_cfg), bundle, clock)
    assert (old.action, old.changed) == (ImportAction.REFUSED, False)
    assert re.search(r"the bundle of shop is older than the active set, which is kept: p256 serial \w+ from "
                     r"2026-11-29T12:00:00Z \(active: serial \w+ from 2026-11-30T12:00:00Z\)", old.warnings[0])
    assert tree(member.root) == before


def test_an_older_set_still_replaces_one_for_another_config(bundle, stores, shared_cfg, issue, clock) -> None:
    member = stores[MEMBER]
    clock.advance(86400)
    alone = shared_cfg(MEMBER, key_types=["p256"], issuer=None, members=[])
    issue(alone, host=MEMBER)  # ordered by the member itself, a day later, before the domain was shared
    assert do_import(member, member_cfg(shared_cfg), bundle, clock).action == ImportAction.IMPORTED
    assert fingerprints(member) == fingerprints(stores[ISSUER])


# -- refusals: for this host? ----------------------------------------------------------------
def test_refused_when_not_for_this_host(bundle, stores, shared_cfg, clock) -> None:
    member = stores[MEMBER]
    cases = [
        (None, "managed domain shop is not configured on this host (web2)"),
        (shared_cfg(MEMBER, key_types=KEYS, issuer=None, members=[]),
         "managed domain shop is not a shared domain on this host (web2): its config names no issuer"),
        (shared_cfg(ISSUER, key_types=KEYS), "managed domain shop is issued on this host (web1): it is ordered here"),
        (shared_cfg(MEMBER, key_types=KEYS, issuer=OTHER, members=[MEMBER]),
         "the bundle of shop comes from web1, but this host (web2) imports shop from web3"),
        (shared_cfg(MEMBER, key_types=["p256"]),
         "shop: the issuer's set has key types p256, rsa2048, this host's config p256: declare the same key types"),
        (shared_cfg(MEMBER, key_types=KEYS, domains=["shop.example"]),
         "shop: the issuer's set is for shop.example, www.shop.example, this host's config for shop.example"),
    ]
    before = tree(member.root)
    for cfg, message in cases:
        with pytest.raises(BundleError, match=re.escape(message)):
            import_set(member, cfg, parse_bundle(bundle), cfg.fleet_host if cfg else MEMBER, clock)
    assert tree(member.root) == before


# -- refusals: the files ---------------------------------------------------------------------
def _pem_certs(text: str) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(("-----BEGIN CERTIFICATE-----" + b).encode())
            for b in text.split("-----BEGIN CERTIFICATE-----")[1:]]


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _forged_intermediate(real: x509.Certificate) -> x509.Certificate:
    """Same subject as the real intermediate, another key: a chain that did not sign the leaf."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(real.subject).issuer_name(real.subject)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def _replace_leaf(doc: dict, kt: str, leaf: x509.Certificate) -> None:
    """A new leaf with consistent cert/fullchain and facts, so only the check under test fails."""
    from mdcore.certs import CertFacts

    files = doc["files"][kt]
    chain = files["chain.pem"]
    files["cert.pem"] = _pem(leaf)
    files["fullchain.pem"] = _pem(leaf) + chain
    facts = CertFacts.of(leaf)
    doc["set"]["certs"][kt].update(serial=facts.serial, sha256_fingerprint=facts.sha256_fingerprint)


def tamper_cases(test_ca: TestCA) -> list[tuple[Callable[[dict], None], str]]:
    def other_key(doc: dict) -> None:
        doc["files"]["p256"]["privkey.pem"] = key_to_pem(ec.generate_private_key(ec.SECP256R1())).decode()

    def wrong_kind(doc: dict) -> None:
        doc["files"]["p256"]["privkey.pem"] = doc["files"]["rsa2048"]["privkey.pem"]

    def garbage_key(doc: dict) -> None:
        doc["files"]["p256"]["privkey.pem"] = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n"

    def forged_chain(doc: dict) -> None:
        files = doc["files"]["p256"]
        forged = _pem(_forged_intermediate(_pem_certs(files["chain.pem"])[0]))
        files["chain.pem"], files["fullchain.pem"] = forged, files["cert.pem"] + forged

    def chain_of_another_ca(doc: dict) -> None:
        files = doc["files"]["p256"]
        files["chain.pem"] = _pem(test_ca.alt_root)
        files["fullchain.pem"] = files["cert.pem"] + files["chain.pem"]

    def short_fullchain(doc: dict) -> None:
        doc["files"]["p256"]["fullchain.pem"] = doc["files"]["p256"]["cert.pem"]

    def two_leafs(doc: dict) -> None:
        doc["files"]["p256"]["cert.pem"] += doc["files"]["rsa2048"]["cert.pem"]

    def garbage_cert(doc: dict) -> None:
        doc["files"]["p256"]["cert.pem"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    def names_not_covered(doc: dict) -> None:
        key = serialization.load_pem_private_key(doc["files"]["p256"]["privkey.pem"].encode(), None)
        now = datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)
        leaf = test_ca.issue(key.public_key(), ["shop.example"], now, datetime.timedelta(days=90))
        _replace_leaf(doc, "p256", leaf)

    def facts_lie(doc: dict) -> None:
        doc["set"]["certs"]["rsa2048"]["serial"] = "ABCDEF"

    return [
        (other_key, "shop p256: the certificate is not for the private key of the set (key and certificate do "
                    "not match)"),
        (wrong_kind, "shop p256: privkey.pem is not a p256 key"),
        (garbage_key, "shop p256: privkey.pem is not an unencrypted PEM private key"),
        (forged_chain, "shop p256: the certificate is not signed by the first certificate of chain.pem"),
        (chain_of_another_ca, "shop p256: the certificate is not signed by the first certificate of chain.pem"),
        (short_fullchain, "shop p256: fullchain.pem is not cert.pem followed by chain.pem"),
        (two_leafs, "shop p256: cert.pem must hold exactly one certificate (it holds 2)"),
        (garbage_cert, "shop p256: cert.pem is not a PEM certificate list"),
        (names_not_covered, "shop p256: the certificate does not cover www.shop.example"),
        (facts_lie, "shop rsa2048: the set's facts (serial ABCDEF) are not those of its certificate"),
    ]


def test_tampered_files_are_refused_naming_md_key_type_and_what(bundle, stores, shared_cfg, clock, test_ca) -> None:
    member = stores[MEMBER]
    before = tree(member.root)
    for change, message in tamper_cases(test_ca):
        with pytest.raises(BundleError, match=re.escape(message)) as info:
            do_import(member, member_cfg(shared_cfg), edit(bundle, change), clock)
        assert_no_key_text(str(info.value), bundle)
        assert "SECRET" not in str(info.value)
    assert tree(member.root) == before


def test_an_expired_set_is_refused(bundle, stores, shared_cfg, clock) -> None:
    clock.advance(91 * 86400)
    with pytest.raises(BundleError, match=r"shop p256: the certificate expired at 2027-02-27T12:00:00Z"):
        do_import(stores[MEMBER], member_cfg(shared_cfg), bundle, clock)
    assert stores[MEMBER].active_set(MD) is None


# -- a crash at every write point ------------------------------------------------------------
WRITE_POINTS = ("replace", "rename", "symlink", "unlink", "fsync")


class CrashAt:
    """Raises Crash (a BaseException nothing catches, as kill -9 lets nothing run) at the n-th
    call of any file system write point while active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
        self.n, self.calls = n, 0
        for name in WRITE_POINTS:
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name)))
        monkeypatch.setattr(shutil, "rmtree", self._wrap(shutil.rmtree))

    def _wrap(self, real):
        def call(*args, **kwargs):
            self.calls += 1
            if self.calls == self.n:
                raise Crash()
            return real(*args, **kwargs)

        return call


def test_a_crash_at_any_write_point_leaves_a_complete_set(bundle, stores, shared_cfg, issue, clock, tmp_path,
                                                          monkeypatch) -> None:
    cfg = member_cfg(shared_cfg)
    do_import(stores[MEMBER], cfg, bundle, clock)  # the old set
    clock.advance(86400)
    issue(shared_cfg(ISSUER, key_types=KEYS), force=True)
    newer = export_set(stores[ISSUER], shared_cfg(ISSUER, key_types=KEYS), MD, ISSUER, clock)
    old_prints, new_prints = fingerprints(stores[MEMBER]), fingerprints(stores[ISSUER])
    pristine = tmp_path / "pristine"
    shutil.copytree(stores[MEMBER].root, pristine, symlinks=True)
    crashed_at = []
    for n in range(1, 200):
        root = str(tmp_path / ("member-%d" % n))
        shutil.copytree(pristine, root, symlinks=True)
        store = Store(root, clock)
        with monkeypatch.context() as patch:
            CrashAt(patch, n)
            try:
                do_import(store, cfg, newer, clock)
            except Crash:
                crashed_at.append(n)
            else:
                break
        assert complete(store) and fingerprints(store) in (old_prints, new_prints), n
        store.recover()  # what the next locked run does first
        assert complete(store) and fingerprints(store) in (old_prints, new_prints), n
        again = do_import(store, cfg, newer, clock)
        assert again.action in (ImportAction.IMPORTED, ImportAction.UNCHANGED)
        assert fingerprints(store) == new_prints and complete(store), n
        assert not os.path.exists(store.staging_dir(MD))
    assert len(crashed_at) > 20  # every file write, the seal, the archive rename, the link swap, the prune


def test_a_member_exports_nothing(bundle, stores, shared_cfg, clock) -> None:
    from mdcore.errors import ConfigError

    cfg = member_cfg(shared_cfg)
    do_import(stores[MEMBER], cfg, bundle, clock)
    with pytest.raises(ConfigError, match="shop is imported on this host from web1: export it on web1"):
        export_set(stores[MEMBER], cfg, MD, MEMBER, clock)


def test_export_needs_an_active_set(stores, shared_cfg, clock) -> None:
    from mdcore.errors import MdError

    with pytest.raises(MdError, match=r"shop has no certificate set on this host \(web1\) yet"):
        export_set(stores[ISSUER], shared_cfg(ISSUER), MD, ISSUER, clock)


def test_key_types_in_another_order_are_the_same_set(bundle, stores, shared_cfg, clock) -> None:
    member = stores[MEMBER]
    cfg = shared_cfg(MEMBER, key_types=["rsa2048", "p256"])  # the issuer says p256, rsa2048
    assert do_import(member, cfg, bundle, clock).action == ImportAction.IMPORTED
    assert do_import(member, shared_cfg(MEMBER, key_types=KEYS), bundle, clock).action == ImportAction.UNCHANGED
    reordered = shared_cfg(ISSUER, key_types=["rsa2048", "p256"])
    assert parse_bundle(export_set(stores[ISSUER], reordered, MD, ISSUER, clock)).md == MD
