"""The store's read side (mdcore/storeread.py), which md_status takes instead of the whole Store
(issue 13 item 3: its payload ships storeread.py, not store.py): the status it reads is the one a
Store reads, it changes nothing in the store, and it has none of the writer's operations."""

from __future__ import annotations

import os

import pytest

from mdcore.clock import Clock
from mdcore.errors import StoreError
from mdcore.status.build import build_status
from mdcore.status.json_view import report_json
from mdcore.store import Store
from mdcore.storeread import StoreReader, check_md_name

from .status.synth import Spec, make_store

SPECS = [Spec("ok.example.org"), Spec("failing.example.org", errors=3), Spec("new.example.org", issued=False),
         Spec("ordering.example.org", order_pending=True), Spec("two.example.org", key_types=["p256", "rsa2048"])]


def _tree(root: str) -> dict[str, tuple]:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            out[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def test_a_reader_reports_what_a_store_reports_and_writes_nothing(tmp_path):
    clock = Clock()
    root = make_store(str(tmp_path / "store"), clock.now(), SPECS)
    before = _tree(root)
    read = report_json(build_status(StoreReader(root, clock), clock), "mdfleet")
    assert _tree(root) == before
    full = report_json(build_status(Store(root, clock), clock), "mdfleet")
    for doc in (read, full):
        doc.pop("generated"), doc.pop("generated-unix")
    assert read == full
    assert [md["name"] for md in read["managed-domains"]] and len(read["managed-domains"]) == len(SPECS)


def test_a_store_is_a_reader_and_the_reader_has_no_writes():
    assert issubclass(Store, StoreReader)
    writes = {"lock", "setup", "activate", "recover", "save_job", "load_job", "save_order", "begin_staging",
              "save_verified", "save_install", "retire_md", "remove_md", "write_state", "stage_set"}
    assert writes <= set(dir(Store))
    assert writes & set(dir(StoreReader)) == set()


def test_the_reader_refuses_a_bad_domain_name(tmp_path):
    reader = StoreReader(str(tmp_path))
    for bad in ("../x", "a/b", ".hidden", "x\n"):
        with pytest.raises(StoreError, match="invalid managed domain name"):
            reader.active_dir(bad)
    assert check_md_name("ok.example.org") == "ok.example.org"
