"""Property-based tests (hypothesis) over the store's JSON files (issue 10 item 6): any bytes, any
JSON document, and valid documents with any value anywhere replaced are read by each file's
reader into its typed state or refused with the engine's error naming the file (CorruptStateError,
NewerStateError; the staple book's OcspError), never another exception. What a reader accepts
is written back unchanged (to_json, strict JSON) and is of the types its class declares, and an
accepted set.json and job go through the plan and every status view without a traceback."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import os
import tempfile
import typing

import pytest

from mdcore.acme.account import account_info
from mdcore.clock import FakeClock
from mdcore.config import md_config_from_dict
from mdcore.errors import MdError, StoreError
from mdcore.manager import plan_md
from mdcore.notify.state import NotifyState, state_path
from mdcore.ocsp import persist
from mdcore.ocsp.state import OcspStatus, StapleState
from mdcore.state.certset import CertSet
from mdcore.state.fields import read_state
from mdcore.state.installs import PendingInstall
from mdcore.state.job import JobState
from mdcore.state.order import OrderState
from mdcore.status import build_status, render_html, render_prometheus, report_json
from mdcore.store import Store

from ..helpers import cert_set
from .test_typed_state import T0, full_job

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(hypothesis.HealthCheck))
MD = "a.example"
# Hundreds of small stores: on a tmpfs where there is one (a store write's fsync cost 13 ms on a
# busy shared disk, which made this file take half a minute; nothing here is about durability).
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
SCALARS = st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=False) | \
    st.text(max_size=16) | st.sampled_from(["2026-11-29T12:00:00Z", "2026-02-30T00:00:00Z", "9999-12-31T23:59:59Z",
                                            "p256", "rsa2048", MD, "33%", "good", "revoked", "", "ab" * 32])
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a JSON document (what a mutation may replace)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += paths(value, prefix + (index,))
    return out


def replaced(doc: object, changes: list[tuple[int, object]]) -> object:
    doc = copy.deepcopy(doc)
    for pick, value in changes:
        spots = paths(doc)
        if not spots:
            return value
        path = spots[pick % len(spots)]
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return doc


CHANGES = st.lists(st.tuples(st.integers(0, 10 ** 6), JSON), min_size=1, max_size=3)


def valid_set() -> dict:
    return cert_set(MD, ["p256", "rsa2048"]).with_changes(ca_url="https://ca.test/dir", created=T0,
                                                          orders={"p256": "https://ca.test/o/1"}).to_json()


VALID = {
    "set.json": valid_set,
    "order.json": lambda: OrderState(MD, [MD], ["p256"], "https://ca.test/dir", {"p256": "https://ca.test/o/1"},
                                     {"rsa2048": T0}).to_json(),
    "job": lambda: full_job().to_json(),
    "pending install": lambda: PendingInstall(MD, "0123abcd", T0, {"renewed": {"serials": {"p256": "1A"}}}).to_json(),
    "account.json": lambda: {"url": "https://ca.test/acct/1", "ca_url": "https://ca.test/dir", "contact": [],
                             "eab_kid": None, "status": "valid"},
}
READERS = {
    "set.json": CertSet.from_json,
    "order.json": OrderState.from_json,
    "job": lambda doc: JobState.from_json(doc, MD),
    "pending install": PendingInstall.from_json,
    "account.json": account_info,
}
TYPED = ("set.json", "order.json", "job", "pending install")  # classes with to_json


def read_file(tmp: str, name: str, data: bytes):
    path = os.path.join(tmp, "file.json")
    with open(path, "wb") as handle:
        handle.write(data)
    return read_state(path, READERS[name])  # CorruptStateError/NewerStateError (StoreErrors) or the state


def check_accepted(name: str, value) -> None:
    if value is None or name not in TYPED:
        return
    doc = value.to_json()
    again = READERS[name](json.loads(json.dumps(doc, allow_nan=False)))
    assert again == value, "%s does not read back as written" % name
    if name == "set.json":
        assert value.key_types and set(value.certs) == set(value.key_types)


def outcome(tmp: str, name: str, data: bytes) -> None:
    try:
        value = read_file(tmp, name, data)
    except StoreError:  # CorruptStateError, NewerStateError: named, set aside or refused by the caller
        return
    check_accepted(name, value)


@SETTINGS
@given(st.sampled_from(sorted(READERS)), st.binary(max_size=200))
def test_any_bytes_read_as_state_or_a_named_error(name, data):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        outcome(tmp, name, data)


@SETTINGS
@given(st.sampled_from(sorted(READERS)), JSON)
def test_any_json_reads_as_state_or_a_named_error(name, doc):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        outcome(tmp, name, json.dumps(doc).encode())


@SETTINGS
@given(st.sampled_from(sorted(READERS)), CHANGES)
def test_valid_files_with_any_value_replaced(name, changes):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        outcome(tmp, name, json.dumps(replaced(VALID[name](), changes)).encode())


@SETTINGS
@given(CHANGES, CHANGES, st.booleans())
def test_accepted_sets_and_jobs_go_through_the_plan_and_the_status_views(set_changes, job_changes, stapling):
    """What the readers let through is used: the plan of the domain and every status view (JSON,
    HTML, Prometheus) over it, with or without stapling, end without a traceback."""
    clock = FakeClock(start=T0 + datetime.timedelta(days=10))
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        store = Store(os.path.join(tmp, "store"), clock).setup()
        archive = store.path("archive", MD + ".1")
        os.makedirs(archive)
        os.symlink(os.path.join("..", "archive", MD + ".1"), store.active_dir(MD))
        with open(os.path.join(archive, "set.json"), "w") as handle:
            json.dump(replaced(valid_set(), set_changes), handle)
        with open(store.job_path(MD), "w") as handle:
            json.dump(replaced(full_job().to_json(), job_changes), handle)
        cfg = md_config_from_dict({"name": MD, "domains": [MD], "acme_directory": "https://ca.test/dir"})
        try:
            plan_md(store, cfg, clock.now())
        except MdError:
            pass
        report = build_status(store, clock, stapling=stapling)
        json.dumps(report_json(report, "mdfleet"), allow_nan=False)
        json.dumps(report_json(report, "mod_md"), allow_nan=False)
        render_html(report)
        render_prometheus(report)


# -- lenient readers: the staple book, events, dns-persist memory ----------------------------------
def declared_types_hold(state: StapleState) -> None:
    hints = typing.get_type_hints(StapleState)
    for field in dataclasses.fields(StapleState):
        value = getattr(state, field.name)
        allowed = typing.get_args(hints[field.name]) or (hints[field.name],)
        assert isinstance(value, tuple(t for t in allowed if isinstance(t, type))) or \
            (value is None and type(None) in allowed), "%s is %r" % (field.name, value)
        if isinstance(value, bool) and bool not in allowed:
            raise AssertionError("%s is a boolean" % field.name)


def valid_entry() -> dict:
    return StapleState(cert_path="/etc/ssl/x.pem", cert_sha256="ab" * 32, md=MD, key_type="p256",
                       responder="http://ocsp.test/", status=OcspStatus.GOOD, this_update=T0,
                       next_update=T0 + datetime.timedelta(days=4), fetched_at=T0, response="AAEC",
                       errors=1, last_error="x", certid={"hash": "sha1", "serial": "1A"}).to_json()


@SETTINGS
@given(st.one_of(JSON, CHANGES.map(lambda changes: replaced(valid_entry(), changes))))
def test_a_staple_book_entry_reads_typed_or_as_nothing_stored(entry):
    state = persist.state_of(entry)
    if state is not None:
        declared_types_hold(state)
        assert persist.state_of(json.loads(json.dumps(state.to_json(), allow_nan=False))) == state


@SETTINGS
@given(st.one_of(st.binary(max_size=100).map(lambda b: b), JSON.map(lambda d: json.dumps(d).encode()),
                 st.lists(st.tuples(st.text(max_size=10), JSON), max_size=3).map(
                     lambda items: json.dumps({"version": 1, "staples": dict(items)}).encode())))
def test_any_staple_book_reads_or_is_a_store_error(data):
    """The book is read as every store file (state.fields.read_state): CorruptStateError or
    NewerStateError, both StoreErrors naming the file."""
    from mdcore.errors import StoreError
    from mdcore.state.fields import NewerStateError

    clock = FakeClock(start=T0)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        store = Store(os.path.join(tmp, "store"), clock).setup()
        with open(store.path("ocsp", persist.BOOK_FILE), "wb") as handle:
            handle.write(data)
        try:
            entries = persist.stored_entries(store)
        except StoreError as exc:
            assert persist.BOOK_FILE in str(exc)
            entries = None
        for key in entries or {}:
            persist.state_of(entries[key])
        try:
            book = persist.StapleBook.load(store)  # a locked run: a corrupt one is set aside
        except NewerStateError:
            return  # a newer mdfleet's book is refused and kept, never rewritten
        persist.prune(store, book, clock.now(), 86400.0)
        book.save()
        report = build_status(store, clock, stapling=True)
        render_html(report)


@SETTINGS
@given(st.one_of(st.binary(max_size=100), JSON.map(lambda d: json.dumps(d).encode()),
                 CHANGES.map(lambda changes: json.dumps(replaced({
                     "version": 1, "md": MD, "last_attempt": {"renewed": "2026-11-29T12:00:00Z"},
                     "last_success": {}, "suppressed": {"renewed": 2}, "failures": 1,
                     "last_failure": {"event": "renewed", "at": "2026-11-29T12:00:00Z", "ok": False, "exit_code": 3,
                                      "timed_out": False, "error": "exit status 3"},
                     "last_postponed": None,
                     "pending": [{"event": "renewed", "since": "2026-11-29T12:00:00Z", "details": {}, "attempts": 1}],
                 }, changes)).encode())))
def test_any_events_file_reads_or_starts_afresh(data):
    clock = FakeClock(start=T0)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        store = Store(os.path.join(tmp, "store"), clock).setup()
        path = state_path(store, MD)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        state = NotifyState.load(store, MD, repair=True)
        state.save(store)  # what it read is written back
        assert NotifyState.load(store, MD) == state
        render_html(build_status(store, clock))
