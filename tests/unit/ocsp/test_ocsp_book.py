"""The staple book's writes: entries encoded when they are put (refresh puts each staple as it is
finished, save only joins the texts), the same file as an encoding of everything at save."""

from __future__ import annotations

import datetime
import json

from mdcore.ocsp.persist import BOOK_FILE, StapleBook
from mdcore.ocsp.state import OcspStatus, StapleState

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def _state(md: str, status: str = OcspStatus.GOOD) -> StapleState:
    return StapleState(cert_path="/c/%s.pem" % md, cert_sha256="ab" * 32, md=md, key_type="p256", status=status,
                       this_update=NOW, next_update=NOW + datetime.timedelta(days=1), response="AAAA",
                       last_attempt=NOW)


def _text(store) -> str:
    with open(store.path("ocsp", BOOK_FILE), encoding="utf-8") as handle:
        return handle.read()


def _expected(entries: dict) -> str:
    """The book as save wrote it before entries were encoded at put: every one at save."""
    lines = ["%s: %s" % (json.dumps(k), json.dumps(entries[k], sort_keys=True)) for k in sorted(entries)]
    return '{"version": 1, "staples": {\n%s\n}}\n' % ",\n".join(lines)


def test_put_is_a_snapshot_and_save_writes_what_was_put(store):
    book = StapleBook.load(store)
    state = _state("a.example")
    book.put("a.example/p256", state)
    state.status, state.errors = OcspStatus.REVOKED, 3  # changed after the put: not in the book
    book.put("b.example/p256", _state("b.example"))
    assert book.save()
    doc = json.loads(_text(store))["staples"]
    assert doc["a.example/p256"]["status"] == OcspStatus.GOOD and doc["a.example/p256"]["errors"] == 0
    assert _text(store) == _expected({"a.example/p256": _state("a.example").to_json(),
                                      "b.example/p256": _state("b.example").to_json()})
    book.put("a.example/p256", state)  # put again: now it is
    book.save()
    assert json.loads(_text(store))["staples"]["a.example/p256"]["status"] == OcspStatus.REVOKED


def test_entries_loaded_are_written_back_unchanged_beside_new_ones(store):
    book = StapleBook.load(store)
    for md in ("a.example", "b.example", "c.example"):
        book.put(md + "/p256", _state(md))
    book.save()
    again = StapleBook.load(store)  # a later run: the entries read, none put yet
    again.put("d.example/p256", _state("d.example", OcspStatus.UNKNOWN))
    again.remove("b.example/p256")
    assert again.save()
    entries = {md + "/p256": _state(md).to_json() for md in ("a.example", "c.example")}
    entries["d.example/p256"] = _state("d.example", OcspStatus.UNKNOWN).to_json()
    assert _text(store) == _expected(entries)
    third = StapleBook.load(store)
    third.remove("d.example/p256")
    third.put("d.example/p256", _state("d.example"))  # removed and put again: the new text
    third.remove("a.example/p256")
    third.save()
    kept = ("c.example/p256", "d.example/p256")
    assert _text(store) == _expected({k: _state(k.partition("/")[0]).to_json() for k in kept})
    assert StapleBook.load(store).get("d.example/p256").status == OcspStatus.GOOD
