"""The status memo (status/memo.py): a run that reuses it writes the same status files and gives the
same `status --json` / `--prometheus` / `--html` texts, byte for byte, as a run without it, at every
time and after every kind of input change; a memo that is missing, corrupt or foreign is rebuilt
without a word; status files are rewritten only when their content changed."""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import random
import shutil

import pytest

from mdcore.clock import to_iso
from mdcore.notify.state import NotifyState
from mdcore.ocsp.persist import StapleBook
from mdcore.state.certset import CertSet
from mdcore.status import build_status, render_html, render_prometheus, write_status_files
from mdcore.status.json_view import KeyNames, report_text
from mdcore.status.memo import MAGIC, MEMO_FILE, MemoView, StatusMemo
from mdcore.status.writer import DOMAINS_DIR
from mdcore.store import SET_FILES

from .synth import DAY, Spec, fleet_mix

HOUR = datetime.timedelta(hours=1)


def with_file_hashes(store) -> None:
    """Synthetic sets record no file hashes: give them the ones the engine records at activation,
    so that a damaged file is found (Store.damage)."""
    for md in store.managed_names():
        folder = store.active_folder(md)
        path = os.path.join(folder, "set.json")
        doc = json.load(open(path))
        for kt in doc["key_types"]:
            doc["certs"][kt]["files"] = {name: hashlib.sha256(open(os.path.join(folder, kt, name), "rb").read())
                                         .hexdigest() for name in SET_FILES}
        doc["set_id"] = "s-" + md
        with open(path, "w") as handle:
            json.dump(doc, handle)


def status_run(store, clock, memo: bool) -> tuple[dict, dict, int]:
    """What a drive's status step writes (under the lock) and what `mdfleet status` prints after
    it, with or without the memo; and how many domains the memo answered."""
    hits = 0
    with store.lock(5):
        known = StatusMemo.load(store, True, KeyNames.MDFLEET) if memo else None
        report = build_status(store, clock, memo=known)
        write_status_files(store, report, memo=known)
        if known is not None:
            known.save()
            hits = known.hits
        store.save_verified()
    files = {}
    for folder, _dirs, names in os.walk(store.status_dir()):
        for name in names:
            path = os.path.join(folder, name)
            files[os.path.relpath(path, store.status_dir())] = open(path, "rb").read()
    shown = StatusMemo.load(store, True, KeyNames.MDFLEET) if memo else None  # read only, as `status` does
    report = build_status(store, clock, memo=shown)
    texts = {"json": report_text(report, KeyNames.MDFLEET, sort_keys=True), "html": render_html(report),
             "prometheus": render_prometheus(report)}
    return files, texts, hits + (shown.hits if shown else 0)


def same_as_without(store, clock) -> int:
    """Run with the memo, then without it at the same time: every output the same. Returns the hits."""
    files, texts, hits = status_run(store, clock, memo=True)
    plain_files, plain_texts = status_run(store, clock, memo=False)[:2]
    assert sorted(files) == sorted(plain_files)
    for name in files:
        assert files[name] == plain_files[name], name
    for view in texts:
        assert texts[view] == plain_texts[view], view
    return hits


@pytest.fixture
def mixed(synth, clock):
    store = synth(*fleet_mix(40))
    with_file_hashes(store)
    clock.advance(1000)  # not on the whole day of the synthetic certificates' times ("expires in 81 days")
    return store


def test_idle_runs_are_answered_by_the_memo_and_write_nothing_new(mixed, clock):
    same_as_without(mixed, clock)  # no memo yet: made by the drive, then used by `status`
    clock.advance(300)
    per_md = os.path.join(mixed.status_dir(), DOMAINS_DIR)
    before = {name: os.stat(os.path.join(per_md, name)).st_mtime_ns for name in os.listdir(per_md)}
    with mixed.lock(5):
        memo = StatusMemo.load(mixed, True, KeyNames.MDFLEET)
        report = build_status(mixed, clock, memo=memo)
        changed = write_status_files(mixed, report, memo=memo)
        memo.save()
    ok = sum(1 for md in report.domains if md.health == "ok")
    assert memo.hits == ok and ok > 20  # every ok domain, and only those
    assert not [path for path in changed if DOMAINS_DIR in path]
    assert before == {name: os.stat(os.path.join(per_md, name)).st_mtime_ns for name in os.listdir(per_md)}
    assert same_as_without(mixed, clock) > 20


def test_status_file_that_changed_under_the_memo_is_written_again(mixed, clock):
    same_as_without(mixed, clock)
    path = os.path.join(mixed.status_dir(), DOMAINS_DIR, "site0000.example.org.json")
    good = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(b"{}\n")
    assert same_as_without(mixed, clock) > 0
    assert open(path, "rb").read() == good
    os.unlink(path)
    same_as_without(mixed, clock)
    assert open(path, "rb").read() == good


def _reissue(store, md: str, clock, lifetime: datetime.timedelta) -> None:
    """A new active set (another archive folder, the link turned), as an activation makes it."""
    old = store.active_folder(md)
    number = max(int(n.rsplit(".", 1)[1]) for n in os.listdir(store.path("archive")) if n.startswith(md + ".")) + 1
    new = store.path("archive", "%s.%d" % (md, number))
    shutil.copytree(old, new)
    doc = json.load(open(os.path.join(new, "set.json")))
    for cert in doc["certs"].values():
        cert["not_before"] = to_iso(clock.now() - HOUR)
        cert["not_after"] = to_iso(clock.now() - HOUR + lifetime)
    doc["set_id"] = "s-%s-%d" % (md, number)
    with open(os.path.join(new, "set.json"), "w") as handle:
        json.dump(doc, handle)
    link = store.active_dir(md)
    os.symlink(os.path.relpath(new, os.path.dirname(link)), link + ".new")
    os.replace(link + ".new", link)


def _edit_job(store, md: str, change) -> None:
    path = store.job_path(md)
    doc = json.load(open(path))
    change(doc)
    with open(path + ".tmp", "w") as handle:
        json.dump(doc, handle)
    os.replace(path + ".tmp", path)


def _edit_staple(store, md: str, change) -> None:
    book = StapleBook.load(store)
    key = "%s/p256" % md
    state = book.get(key)
    if state is None:
        return
    change(state)
    book.put(key, state)
    book.save(written=[])


def _changes(store, clock, rng: random.Random):
    """Each kind of input change the status views read, applied to a random domain."""
    names = store.managed_names()

    def config(md):
        _edit_job(store, md, lambda doc: doc["config"].update(renew_window=rng.choice(["20%", "33%", "50%", "40d"]),
                                                              contact=["mailto:%d@example.org" % rng.randrange(9)]))

    def job(md):
        _edit_job(store, md, lambda doc: doc["log"].append({"when": to_iso(clock.now()), "type": "note",
                                                            "detail": "n%d" % rng.randrange(1000)}))

    def job_error(md):
        def fail(doc):
            doc["errors"] = 1
            doc["next_retry"] = to_iso(clock.now() + HOUR)
            doc["last_error"] = {"message": "CA said no", "problem_type": None, "detail": None, "retry_hot": True}
        _edit_job(store, md, fail)

    def job_ok(md):
        _edit_job(store, md, lambda doc: doc.update(errors=0, next_retry=None, last_error=None))

    def reissue(md):
        _reissue(store, md, clock, rng.choice([90, 45, 6]) * DAY)

    def staple(md):
        def refresh(state):
            state.this_update = clock.now() - HOUR
            state.next_update = clock.now() + rng.choice([2, 30, 100]) * HOUR
            state.refresh_at = state.next_update - 10 * HOUR
            state.fetched_at = clock.now()
        _edit_staple(store, md, refresh)

    def staple_error(md):
        def fail(state):
            state.errors += 1
            state.last_error = "responder did not answer"
            state.next_retry = clock.now() + HOUR
        _edit_staple(store, md, fail)

    def revoked(md):
        def revoke(state):
            state.status, state.revocation_time, state.renew_required = "revoked", clock.now(), True
        _edit_staple(store, md, revoke)

    def event(md):
        state = NotifyState.load(store, md)
        state.last_success["renewed"] = clock.now()
        state.failures = rng.randrange(3)
        state.save(store)

    def order(md):
        folder = os.path.join(store.staging_dir(md))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "order.json"), "w") as handle:
            json.dump({"version": 1, "md": md, "names": [md], "key_types": ["p256"], "ca_url": "https://ca.test/dir",
                       "orders": {"p256": "https://ca.test/order/1"}}, handle)

    def no_order(md):
        shutil.rmtree(store.staging_dir(md), ignore_errors=True)

    def damage(md):
        folder = store.active_folder(md)
        with open(os.path.join(folder, "p256", "cert.pem"), "a") as handle:
            handle.write("garbage\n")

    def clock_step(_md):
        clock.advance(rng.choice([1, 59, 61, 3600, 6 * 3600, 86399, 86401]))

    kinds = [config, job, job_error, job_ok, reissue, staple, staple_error, revoked, event, order, no_order, damage,
             clock_step]
    return names, kinds


def _to_boundary(store, clock, rng: random.Random) -> None:
    """The clock to just before or just after one of a random domain's time boundaries."""
    report = build_status(store, clock)
    moments = []
    for md in report.domains:
        moments += [t for t in (md.renew_at, md.warn_at, md.valid_until) if t is not None]
        for cert in md.certs:
            if cert.staple is not None and cert.staple.next_update is not None:
                moments.append(cert.staple.next_update)
        until = md.valid_until
        if until is not None:  # a day boundary of "expires in N days"
            left = (until - clock.now()).total_seconds()
            if left > 86400:
                moments.append(until - datetime.timedelta(days=int(left // 86400)))
    ahead = sorted(t for t in moments if t > clock.now())[:3]  # the next ones: the store stays mostly ok
    if not ahead:
        return
    target = rng.choice(ahead) + datetime.timedelta(seconds=rng.choice([-1, 0, 1]))
    clock.advance(max(0.0, (target - clock.now()).total_seconds()))


@pytest.mark.parametrize("seed", range(6))
def test_memo_never_serves_stale_output(synth, clock, seed):
    """Random input changes of every kind, and the clock at the boundaries where outputs change:
    after each, the run with the memo is the run without it."""
    rng = random.Random(seed)
    specs = fleet_mix(24)
    store = synth(*specs)
    with_file_hashes(store)
    clock.advance(1000)
    same_as_without(store, clock)
    names, kinds = _changes(store, clock, rng)
    hits = 0
    for _step in range(25):
        for _change in range(rng.randrange(1, 4)):
            rng.choice(kinds)(rng.choice(names))
        if rng.random() < 0.4:
            _to_boundary(store, clock, rng)
        hits += same_as_without(store, clock)
    assert hits > 20  # the memo answered, or this test proves nothing


def test_every_kind_of_change_is_seen(synth, clock):
    """Each kind of change on a domain of its own: the next drive builds that domain afresh (no
    memo answer), and every output equals the plain run's."""
    rng = random.Random(1)
    store = synth(*[Spec("k%02d.example" % i) for i in range(14)])
    with_file_hashes(store)
    clock.advance(1000)
    _names, kinds = _changes(store, clock, rng)
    kinds = [k for k in kinds if k.__name__ not in ("clock_step", "no_order")]  # no_order: nothing to remove
    same_as_without(store, clock)
    for i, change in enumerate(kinds):
        md = "k%02d.example" % i
        assert same_as_without(store, clock) > 0
        change(md)
        with store.lock(5):
            memo = StatusMemo.load(store, True, KeyNames.MDFLEET)
            report = build_status(store, clock, memo=memo)
        assert not isinstance(report.get(md), MemoView), change.__name__
        assert any(isinstance(view, MemoView) for view in report.domains)
        same_as_without(store, clock)


def test_the_daily_hash_check_is_not_skipped(mixed, clock):
    """Store.damage hashes a set's files once a day whatever their identity: the memo does not
    answer for a set whose check is due, so the check happens."""
    same_as_without(mixed, clock)
    book = json.load(open(mixed.path("verified.json")))["sets"]
    clock.advance(86400 + 60)
    same_as_without(mixed, clock)
    again = json.load(open(mixed.path("verified.json")))["sets"]
    assert all(again[md]["checked"] > book[md]["checked"] for md in book)


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage", "flipped", "foreign", "folder", "old-format"])
def test_a_memo_that_does_not_read_is_rebuilt(mixed, clock, how):
    same_as_without(mixed, clock)
    path = mixed.path(MEMO_FILE)
    data = open(path, "rb").read()
    if how == "folder":
        os.unlink(path)
        os.mkdir(path)
    else:
        damaged = {"empty": b"", "truncated": data[: len(data) // 2], "garbage": os.urandom(4096),
                   "flipped": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
                   "foreign": b"something else entirely",
                   "old-format": MAGIC + b"\0\0\0\0" + data[len(MAGIC) + 4:]}[how]
        with open(path, "wb") as handle:
            handle.write(damaged)
    files, texts, hits = status_run(mixed, clock, memo=True)
    # a cache: nothing to say, but of a folder in its place (set aside, as status files are)
    assert [n for n in mixed.notes if "status-memo" in n] == ([] if how != "folder" else mixed.notes)
    assert hits > 20  # rebuilt by the drive, used by `status`
    assert (files, texts) == status_run(mixed, clock, memo=False)[:2]
    assert same_as_without(mixed, clock) > 40


def test_the_memo_is_for_one_configuration(mixed, clock):
    """Another key-name choice or stapling setting: the memo is not used (its texts are other ones)."""
    same_as_without(mixed, clock)
    assert StatusMemo.load(mixed, True, KeyNames.MOD_MD)._old == {}
    assert StatusMemo.load(mixed, False, KeyNames.MDFLEET)._old == {}
    assert StatusMemo.load(mixed, True, KeyNames.MDFLEET)._old


def test_active_set_read_through_its_identity(mixed, clock):
    """The memo's key of a set is the identity of its set.json: a new activation is a new file."""
    same_as_without(mixed, clock)
    before = CertSet.from_json(json.load(open(os.path.join(mixed.active_dir("site0000.example.org"), "set.json"))))
    _reissue(mixed, "site0000.example.org", clock, 30 * DAY)
    same_as_without(mixed, clock)
    after = json.load(open(os.path.join(mixed.path("status", DOMAINS_DIR, "site0000.example.org.json"))))
    assert after["cert"]["p256"]["valid"]["until"] != before.certs["p256"].not_after


def test_the_engine_stamp_is_every_engine_file_not_what_a_run_imported(monkeypatch):
    """A run that ordered or fetched imports more of the engine: the next idle run's memo stays
    valid."""
    from mdcore import codestamp

    monkeypatch.setattr(codestamp, "_CODE", None)
    idle = codestamp.code_stamp()
    importlib.import_module("mdcore.issuance")  # what an order imports

    monkeypatch.setattr(codestamp, "_CODE", None)
    assert codestamp.code_stamp() == idle
    assert os.path.join("status", "memo.py") in [stamp[0] for stamp in idle]


def test_a_zipapp_engine_is_stamped_by_its_archive(tmp_path):
    """As the role installs the engine: one file, which stands for all of it."""
    import subprocess
    import sys
    import zipfile

    from mdcore import codestamp

    package = os.path.dirname(codestamp.__file__)
    archive = tmp_path / "mdfleet.pyz"
    with zipfile.ZipFile(archive, "w") as out:
        for folder, _dirs, names in os.walk(package):
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    out.write(path, os.path.join("mdcore", os.path.relpath(path, package)))
    probe = "import mdcore.codestamp as m; print(m.code_stamp())"
    shown = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ, PYTHONPATH=str(archive)),
                           capture_output=True, text=True, check=True, timeout=60).stdout
    st = os.stat(archive)
    assert shown.strip() == str(((str(archive), st.st_size, st.st_mtime_ns),))
