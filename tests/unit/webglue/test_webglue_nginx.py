"""nginx's stapling include: ssl_stapling_file only for a staple the staple book vouches for."""

from __future__ import annotations

import os

import pytest

from mdcore.ocsp.state import OcspStatus
from mdcore.webglue.active import active_sets
from mdcore.webglue.commands import sync_files
from mdcore.webglue.nginx import MANAGED_MARK
from peers.ocsp_pki import install_md

from .conftest import DAY, MD, book_entry, glue


def include(web) -> str:
    return (web / "stapling" / (MD + ".conf")).read_text()


def put_staple(web, der: bytes, key_type: str = "p256") -> str:
    path = web / "ocsp" / ("%s.%s.der" % (MD, key_type))
    path.write_bytes(der)
    return str(path)


def test_good_staple_is_served_and_a_second_sync_changes_nothing(store, web, clock):
    staple = book_entry(store, clock)
    der = put_staple(web, staple.der)
    res = sync_files(glue(store, web), clock)
    assert res.changed == [str(web / "stapling" / (MD + ".conf"))] and res.notes == []
    assert include(web) == "%s from %s/domains/%s\nssl_stapling on;\nssl_stapling_file %s;\n" % (
        MANAGED_MARK, store.root, MD, der)
    assert oct(os.stat(web / "stapling" / (MD + ".conf")).st_mode & 0o777) == "0o644"
    assert sync_files(glue(store, web), clock).changed == []


def test_no_staple_yet(store, web, clock):
    sync_files(glue(store, web), clock)
    assert "ssl_stapling" not in include(web) and "no good OCSP staple for the active certificate (yet)" in include(web)


@pytest.mark.parametrize("case", ["file differs from the book", "no file", "entry of another certificate",
                                  "expired", "unknown", "none"])
def test_staples_the_book_does_not_vouch_for_are_not_served(store, web, clock, pki, case):
    kwargs = {}
    if case == "entry of another certificate":
        kwargs["cert_pem"] = open(pki.issue("old.example.org", None).cert_path, "rb").read()
    if case in ("unknown", "none"):
        kwargs["status"] = OcspStatus.UNKNOWN if case == "unknown" else OcspStatus.NONE
    staple = book_entry(store, clock, **kwargs)
    if case != "no file":
        put_staple(web, b"another response" if case == "file differs from the book" else staple.der)
    if case == "expired":
        clock.advance((3 * DAY).total_seconds() + 1)
    sync_files(glue(store, web), clock)
    assert "ssl_stapling" not in include(web), case


def test_a_revoked_staple_is_served(store, web, clock):
    """As stapling serves it: clients must learn of the revocation."""
    staple = book_entry(store, clock, status=OcspStatus.REVOKED)
    put_staple(web, staple.der)
    sync_files(glue(store, web), clock)
    assert "ssl_stapling_file" in include(web)


def test_a_renewed_certificate_drops_the_staple_until_stapling_has_one(store, web, clock, pki):
    staple = book_entry(store, clock)
    put_staple(web, staple.der)
    sync_files(glue(store, web), clock)
    install_md(store, MD, pki.issue(MD, "http://ocsp.test/"))  # the new set: the book is for the old one
    assert sync_files(glue(store, web), clock).changed
    assert "ssl_stapling" not in include(web)


def test_several_key_types_get_no_staple(store, web, clock, leaf):
    install_md(store, MD, leaf, key_types=("p256", "rsa2048"))
    for kt in ("p256", "rsa2048"):
        put_staple(web, book_entry(store, clock, key_type=kt).der, kt)
    sync_files(glue(store, web), clock)
    assert "2 key types: nginx would send one staple for all of them, so none is sent" in include(web)
    assert [s.cert.key_type for s in active_sets(store)[MD]] == ["p256", "rsa2048"]


def test_an_unreadable_book_serves_no_staple_and_says_why(store, web, clock):
    staple = book_entry(store, clock)
    put_staple(web, staple.der)
    with open(store.path("ocsp", "staples.json"), "w") as handle:
        handle.write("[1]")
    res = sync_files(glue(store, web), clock)
    assert "ssl_stapling" not in include(web)
    assert "the staple book" in include(web) and res.notes and "staple book" in res.notes[0]


def test_a_folder_that_cannot_be_written_is_a_clear_error(store, web, clock):
    from mdcore.errors import StoreError

    cfg = glue(store, web)
    cfg.nginx_stapling_dir = str(web / "missing")
    with pytest.raises(StoreError, match=r"cannot write .*missing/www.example.org.conf: No such file"):
        sync_files(cfg, clock)
