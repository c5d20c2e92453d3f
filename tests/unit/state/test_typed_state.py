"""The store's persisted state as typed classes: round trips, strict from_json (types, versions,
a newer version refused), files read and set aside through the store, one renew-at rule for the
plan and the status views, and no raw reads or import cycles left."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest

from mdcore.clock import FakeClock
from mdcore.due import DueTimes, due_times
from mdcore.state.certset import CertSet
from mdcore.state.fields import CorruptStateError, FormatError, NewerStateError, read_state
from mdcore.state.job import AriState, ConfigSnapshot, FleetSnapshot, JobError, JobState
from mdcore.state.order import OrderState
from mdcore.store import Store
from mdcore.window import Window

from ..helpers import cert_set

T0 = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
MDCORE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins", "module_utils", "mdcore")


def full_job() -> JobState:
    job = JobState("a.example", last_run=T0, last_success=T0, errors=2, next_retry=T0,
                   last_error=JobError("CA problem", "urn:x", "detail", False), input_digest="abc",
                   config=ConfigSnapshot(["a.example"], ["p256"], ["https://ca/dir"], "http-01", "30d", "10%",
                                         ["mailto:a@b"], "shortlived", False, FleetSnapshot("web1", ["web2"], False)),
                   ari={"p256": AriState("id", True, T0, T0, T0, T0, "https://x", None)})
    job.add_log(T0, "error", "it failed")
    return job


def test_round_trips() -> None:
    job = full_job()
    assert JobState.from_json(json.loads(json.dumps(job.to_json())), "a.example") == job
    order = OrderState("a.example", ["a.example"], ["p256"], "https://ca/dir", {"p256": "https://ca/o/1"},
                       {"rsa2048": T0})
    assert OrderState.from_json(json.loads(json.dumps(order.to_json()))) == order
    sset = cert_set("a.example", ["p256", "rsa2048"]).with_changes(
        ca_url="https://ca/dir", created=T0, orders={"p256": "https://ca/o/1"})
    assert CertSet.from_json(json.loads(json.dumps(sset.to_json()))) == sset
    assert sset.to_json()["version"] == job.to_json()["version"] == order.to_json()["version"] == 1


@pytest.mark.parametrize("doc, message", [
    ([1], "job must be a JSON object, not a list"),
    ({"md": "a.example", "errors": "3"}, "'errors' must be a whole number >= 0"),
    ({"md": "a.example", "errors": -1}, "'errors' must be a whole number >= 0"),
    ({"md": "a.example", "errors": True}, "'errors' must be a whole number >= 0"),
    ({"md": "b.example"}, "'md' is 'b.example', but the file is for 'a.example'"),
    ({"md": "a.example", "next_retry": "soon"}, "'next_retry' is no time"),
    ({"md": "a.example", "last_error": "x"}, "last_error must be a JSON object"),
    ({"md": "a.example", "log": [{"type": "error"}]}, "log entry: 'when' is missing"),
    ({"md": "a.example", "config": {"renew_window": "150%"}}, "must be between 0% and 100%"),
    ({"md": "a.example", "config": {"ari": "false"}}, "'ari' must be true or false"),
    ({"md": "a.example", "ari": {"p256": {"supported": True}}}, "ari.p256: 'cert_id' must be a non-empty string"),
    ({"md": "a.example", "version": "1"}, "'version' must be a positive integer"),
])
def test_job_from_json_is_strict(doc, message) -> None:
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        JobState.from_json(doc, "a.example")


@pytest.mark.parametrize("change, message", [
    ({"key_types": []}, "'key_types' must be distinct key type names"),
    ({"key_types": ["p256", "p256"]}, "'key_types' must be distinct key type names"),
    ({"key_types": ["../x"]}, "'key_types' must be distinct key type names"),
    ({"certs": {}}, "'certs' must hold exactly the key types p256"),
    ({"names": "a.example"}, "'names' must be a list of strings"),
    ({"certs": {"p256": {"serial": "1"}}}, "'sha256_fingerprint' must be a non-empty string"),
    ({"imported": {"from": "web1"}}, "imported: 'at' is missing"),
])
def test_set_from_json_is_strict(change, message) -> None:
    doc = dict(cert_set("a.example", ["p256"]).to_json(), **change)
    with pytest.raises(FormatError, match=message):
        CertSet.from_json(doc)


def test_files_of_a_newer_mdfleet_are_refused_and_kept(store: Store, clock: FakeClock) -> None:
    path = store.job_path("a.example")
    with open(path, "w") as handle:
        json.dump(dict(full_job().to_json(), version=9), handle)
    with pytest.raises(NewerStateError, match=r"a.example.json has version 9; this mdfleet reads up to version 1 "
                                              r"\(written by a newer mdfleet: upgrade it\)"):
        store.load_job("a.example")
    assert os.path.exists(path)  # a downgrade never destroys what the newer engine wrote


def test_files_without_a_version_read_as_version_one() -> None:
    doc = full_job().to_json()
    del doc["version"]
    assert JobState.from_json(doc, "a.example") == full_job()


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"), (b"  \n", "empty"), (b"{not json", "not JSON"), (b"\xff\xfe", "not UTF-8 text"),
    (b'{"md": NaN}', "not JSON"), (b"[" * 100000, "nested too deeply"),
], ids=["empty", "blank", "garbage", "binary", "nan", "deep"])
def test_unreadable_files_name_the_file(tmp_path, data, reason) -> None:
    path = tmp_path / "order.json"
    path.write_bytes(data)
    with pytest.raises(CorruptStateError, match="order.json is corrupt: %s" % reason):
        read_state(str(path), OrderState.from_json)


def test_a_folder_in_place_of_a_file(tmp_path) -> None:
    (tmp_path / "set.json").mkdir()
    with pytest.raises(CorruptStateError, match="set.json is corrupt: a folder where a file must be"):
        read_state(str(tmp_path / "set.json"), CertSet.from_json)


def test_a_corrupt_job_is_set_aside_and_started_afresh(store: Store, clock: FakeClock) -> None:
    path = store.job_path("a.example")
    with open(path, "w") as handle:
        handle.write('{"md": "a.example", "errors": "many"}')
    job = store.load_job("a.example")
    aside = path + ".corrupt-20261129T120000Z"
    assert job.errors == 0 and os.path.exists(aside) and not os.path.exists(path)
    assert "set aside as a.example.json.corrupt-20261129T120000Z" in job.log[-1].detail
    assert store.notes == [job.log[-1].detail.replace("; the job starts afresh", "")]
    with pytest.raises(CorruptStateError):
        read_state(aside, lambda doc: JobState.from_json(doc, "a.example"))  # kept as it was, to look at


def test_one_renew_at_rule_for_plan_and_status() -> None:
    """ARI wins over the renew window, but never later than the warn window opens."""
    sset = cert_set("a.example", ["p256"])
    nb, na = sset.certs["p256"].not_before, sset.certs["p256"].not_after
    renew, warn = Window.parse("33%"), Window.parse("10%")
    plain = due_times(sset, renew, warn)
    assert (plain.renew_at, plain.warn_at, plain.via_ari) == (renew.start(nb, na), warn.start(nb, na), False)
    early = AriState("id", chosen=nb + datetime.timedelta(days=1))
    day_one = nb + datetime.timedelta(days=1)
    assert due_times(sset, renew, warn, {"p256": early}) == DueTimes(day_one, plain.warn_at, True)
    late = AriState("id", chosen=na)
    assert due_times(sset, renew, warn, {"p256": late}).renew_at == plain.warn_at
    assert due_times(sset, renew, warn, {"p256": AriState("id", supported=False, chosen=nb)}) == plain


def test_state_is_read_only_through_the_typed_classes() -> None:
    """No module reads set.json, order.json or a job file as a raw dict any more."""
    for folder, _dirs, files in os.walk(MDCORE):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or os.path.basename(folder) == "state":
                continue
            with open(path) as handle:
                text = handle.read()
            assert "JobState.load(" not in text and "from_dict(job" not in text, path
            if os.path.basename(folder) in ("status",) or name in ("manager.py", "issuance.py", "store.py", "ari.py"):
                assert "read_json" not in text, path


def test_no_import_cycle_between_notify_and_status() -> None:
    code = ("import sys, mdcore.notify; assert not [m for m in sys.modules if m.startswith('mdcore.status')], "
            "sorted(m for m in sys.modules if m.startswith('mdcore.status')); import mdcore.status")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(MDCORE)))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    subprocess.run([sys.executable, "-c", "import mdcore.status, mdcore.notify"], check=True, env=env)
