"""A forked helper verifying a share of a stapling run (ocsp/split.py, mdcore/forked.py): the run
stores every staple either way, the helper's bad answers are judged as the run's own are, and a
helper that ends early or goes silent costs what it took a retry, never the store. Most due
staples are queued in chunks that either process takes when it has room (ChunkQueue): each is
asked once, and the chunks a dead helper left in the queue are the run's."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import threading

import pytest
from cryptography.x509 import ocsp

from mdcore import forked
from mdcore.clock import Clock, Deadline
from mdcore.ocsp import OcspStatus, StapleAction, managed_targets, refresh_staples, split
from mdcore.ocsp.persist import BOOK_FILE
from mdcore.ocsp.split import HELPER_MIN_DUE, ChunkQueue, Share, Split, shares, workers
from peers.ocsp_fault_responder import Fault
from peers.ocsp_pki import install_md

from .conftest import OCSP_URL, FakeTransport


@pytest.fixture
def web(tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    return folder


def managed(store, pki, web, count: int):
    names = ["s%02d.example.org" % i for i in range(count)]
    for name in names:
        install_md(store, name, pki.issue(name, OCSP_URL))
    return names, managed_targets(store, {name: {"staple_file": str(web / (name + ".der"))} for name in names})


def book(store) -> dict:
    with open(store.path("ocsp", BOOK_FILE), encoding="utf-8") as handle:
        return json.load(handle)["staples"]


@pytest.fixture
def fixed(monkeypatch):
    """No queue: the run and the helper each ask a fixed share (HELPER_SHARE to the helper)."""
    monkeypatch.setattr(split, "QUEUED", 0.0)


def test_shares_only_split_what_is_worth_a_process():
    due = list(range(1000))
    assert shares(due, None, True, 2) == Split(due[:75], due[75:250], due[250:], 8)  # QUEUED 0.75, CHUNK 8
    assert shares(due, None, False, 2) == Split(due, [], [], 1)  # an injected transport is never shared
    assert shares(due, None, True, 1) == Split(due, [], [], 1)  # one CPU: nothing to gain
    few = due[:HELPER_MIN_DUE - 1]
    assert shares(few, None, True, 2) == Split(few, [], [], 1)
    assert shares(due, 1, True, 2) == Split(due, [], [], 1)
    assert shares(due[:2], 2, False, 1) == Split([], due[:1], due[1:2], 1)  # asked for: even two
    assert shares(due[:1], 2, True, 2) == Split(due[:1], [], [], 1)
    assert shares(due[:100], 2, True, 2).chunk == 4  # at least 16 chunks in the queue
    many = shares(list(range(200_000)), 2, True, 2)
    assert -(-len(many.queued) // many.chunk) <= split.MAX_CHUNKS  # they all fit into the pipe
    assert workers(8, 0) == (8, 8) and workers(8, 5) == (2, 6) and workers(1, 5) == (1, 1)
    assert workers(2, 5) == (1, 1)


def test_shares_without_queue_as_before(fixed):
    due = list(range(100))
    assert shares(due, None, True, 2) == Split(due[:30], due[30:], [], 1)  # HELPER_SHARE 0.7 to the helper


def test_the_queue_gives_each_chunk_once_then_ends():
    queue = ChunkQueue.fill(5)
    assert queue is not None
    assert [queue.take(), queue.take()] == [0, 1]
    assert queue.drain() == [2, 3, 4]
    assert queue.take() is None and queue.drain() == []
    queue.close()
    assert queue.take() is None
    assert ChunkQueue.fill(0).take() is None


def test_two_processes_taking_from_one_queue_get_every_chunk_once():
    queue = ChunkQueue.fill(400)

    def work(send) -> None:
        while (number := queue.take()) is not None:
            send(number)

    helper = forked.Helper.start(work, Clock())
    mine = []
    while (number := queue.take()) is not None:
        mine.append(number)
    theirs = []
    try:
        while True:
            theirs.extend(helper.take(Deadline(Clock(), 30.0)))
    except forked.HelperGone as exc:
        assert "exit status 0" in str(exc)
    helper.close()
    queue.close()
    assert sorted(mine + theirs) == list(range(400))


def test_a_queue_the_pipe_cannot_hold_is_not_made(monkeypatch):
    import fcntl

    pipe = os.pipe

    def small_pipe():
        read_end, write_end = pipe()
        fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ: one page
        return read_end, write_end

    monkeypatch.setattr(os, "pipe", small_pipe)
    assert ChunkQueue.fill(2000) is None  # 8,000 bytes
    assert ChunkQueue.fill(1000).drain() == list(range(1000))


class GoneHelper:
    """The run's end of a helper that has ended: every take says so."""

    clock = Clock()

    def __init__(self) -> None:
        self.closed = False

    def take(self, wait=None):
        raise forked.HelperGone("the helper process ended (killed by signal 9) before it answered everything")

    def close(self) -> None:
        self.closed = True


class Job:
    failure = None


def test_the_chunks_a_gone_helper_left_in_the_queue_are_the_runs(config):
    """Jobs: 2 of the helper's own, 10 queued in chunks of 3 (0: 2-4, 1: 5-7, 2: 8-10, 3: 11).
    The run took chunk 0, the helper chunk 1; it dies: its own two and chunk 1 fail, chunks 2
    and 3 are what the run takes next."""
    jobs = [Job() for _i in range(12)]
    queue = ChunkQueue.fill(4)
    share = Share(Split([], jobs[:2], jobs[2:], 3), queue, GoneHelper(), config, None)
    assert share.take() == jobs[2:5]
    assert queue.take() == 1  # what the helper took
    failed = share.ready(block=False)
    assert [job for job, verified in failed] == jobs[:2] + jobs[5:8]
    assert all(verified is None and "killed by signal 9" in str(job.failure) for job, verified in failed)
    assert share.helper.closed and share.pending == set()
    assert share.ready(block=True) == []  # nothing more comes from it, no second failure
    assert share.take() == jobs[8:11] and share.take() == jobs[11:] and share.take() == []
    assert all(job.failure is None for job in jobs[2:5] + jobs[8:])


def test_the_first_request_of_the_helper_is_built_before_the_fork(store, pki, clock, http, config, rng, web,
                                                                  monkeypatch):
    """What every request needs (the issuer's chain parsed, its public key: cryptography's OpenSSL
    backend loads with the first, 12 ms) is made once, before the fork, not in both processes; a
    first job that cannot be asked fails once, as any other."""
    names, targets = managed(store, pki, web, 8)
    spare = str(web / "chain.spare")
    shutil.copy(targets[0].issuer_path, spare)
    helper_jobs, at_fork, broken = [], [], []
    real_start, real_fork = split.start, split.Helper.start

    def start(plan, prepare, *args):
        helper_jobs[:] = plan.theirs + plan.queued
        if not broken:  # the first run: the helper's first job has no chain file
            broken.append(helper_jobs[0].target.issuer_path)
            os.remove(broken[0])
        return real_start(plan, prepare, *args)

    def fork(work, clock):
        at_fork.append([job.request is not None for job in helper_jobs])
        return real_fork(work, clock)

    monkeypatch.setattr(split, "start", start)
    monkeypatch.setattr(split.Helper, "start", staticmethod(fork))
    results = {r.cert_path: r for r in refresh_staples(store, targets, clock, transport=http, config=config,
                                                       rng=rng, processes=2)}
    assert at_fork == [[False] * len(helper_jobs)]  # nothing built: the first job failed
    failed = [r for r in results.values() if r.action != StapleAction.FETCHED]
    assert [r.cert_path for r in failed] == [helper_jobs[0].target.cert_path]
    assert failed[0].error.count("cannot read issuer/chain file") == 1

    shutil.copy(spare, broken[0])
    at_fork.clear()
    shutil.rmtree(store.path("ocsp"))  # no staple yet: all due again
    os.makedirs(store.path("ocsp"), mode=0o700)
    results = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=2)
    assert at_fork == [[True] + [False] * (len(helper_jobs) - 1)]
    assert all(r.action == StapleAction.FETCHED and r.error is None for r in results)


def test_a_queued_run_asks_each_staple_once_and_stores_all(store, pki, clock, http, config, rng, web):
    names, targets = managed(store, pki, web, 40)
    two = dataclasses.replace(config, workers=4)
    results = refresh_staples(store, targets, clock, transport=http, config=two, rng=rng, processes=2)
    assert [(r.md, r.action, r.status, r.error) for r in results] == \
        [(name, StapleAction.FETCHED, OcspStatus.GOOD, None) for name in names]
    plan = shares(names, 2, False, 2)
    asked = [url for _method, url in http.calls]  # the run's own exchanges
    assert len(set(asked)) == len(asked) and len(plan.mine) <= len(asked) <= len(names) - len(plan.theirs)
    assert len(book(store)) == len(names)


def test_without_a_queue_the_queued_staples_are_the_helpers(store, pki, clock, http, config, rng, web,
                                                            monkeypatch):
    monkeypatch.setattr(ChunkQueue, "fill", classmethod(lambda cls, count: None))
    names, targets = managed(store, pki, web, 8)
    results = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=2)
    assert all(r.action == StapleAction.FETCHED and r.error is None for r in results)
    assert len(http.calls) == len(shares(names, 2, False, 2).mine)


def test_the_helper_verifies_a_share_and_the_run_stores_every_staple(store, pki, clock, http, config, rng, web,
                                                                     fixed):
    names, targets = managed(store, pki, web, 6)
    results = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=2)
    assert [(r.md, r.action, r.status, r.error) for r in results] == \
        [(name, StapleAction.FETCHED, OcspStatus.GOOD, None) for name in names]
    assert len(http.calls) == len(shares(names, 2, False, 2).mine)  # the helper's exchanges were its own process's
    staples = book(store)
    for name, res in zip(names, results, strict=True):
        der = (web / (name + ".der")).read_bytes()
        assert ocsp.load_der_ocsp_response(der).certificate_status == ocsp.OCSPCertStatus.GOOD
        assert res.changed_files == [str(web / (name + ".der"))]
        assert staples[name + "/p256"]["status"] == OcspStatus.GOOD and staples[name + "/p256"]["certid"]


@pytest.mark.parametrize("mode, error", [(Fault.WRONG_KEY, "signature does not verify"),
                                         (Fault.GARBAGE, "do not parse as DER OCSPResponse"),
                                         (Fault.TRY_LATER, "responder answered 'tryLater'")])
def test_bad_answers_in_the_helpers_share_fail_as_in_the_run(store, pki, clock, http, config, rng, web, mode,
                                                             error):
    http.mode = mode
    names, targets = managed(store, pki, web, 5)
    results = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=2)
    assert len({r.error for r in results}) == 1 and error in results[0].error
    assert all(r.action == StapleAction.FAILED and r.next_retry is not None for r in results)
    assert not os.listdir(web)
    assert all(entry["errors"] == 1 for entry in book(store).values())


class DyingInTheHelper(FakeTransport):
    """Answers in the run's process; the helper process ends at its first exchange."""

    def __init__(self, responder, run_pid: int) -> None:
        super().__init__(responder)
        self.run_pid = run_pid

    def exchange(self, method, url, body, deadline, headers=None):
        if os.getpid() != self.run_pid:
            os._exit(7)
        return super().exchange(method, url, body, deadline, headers)


def test_a_helper_ending_early_costs_its_share_a_retry(store, pki, clock, http, config, rng, web):
    """It dies at the first exchange of its own share, before it takes from the queue: the run
    asks every queued staple (in order: mine, theirs, queued)."""
    names, targets = managed(store, pki, web, 6)
    dying = DyingInTheHelper(http.responder, os.getpid())
    results = refresh_staples(store, targets, clock, transport=dying, config=config, rng=rng, processes=2)
    mine, theirs, queued, _chunk = shares(names, 2, False, 2)
    assert len(theirs) == 1 and len(queued) == 4
    assert [r.action for r in results] == \
        [StapleAction.FETCHED] * len(mine) + [StapleAction.FAILED] * len(theirs) + [StapleAction.FETCHED] * len(queued)
    for res in results[len(mine):len(mine) + len(theirs)]:
        assert "helper process ended (exit status 7) before it answered everything" in res.error
        assert res.next_retry is not None and not os.path.exists(web / (res.md + ".der"))
    clock.advance(3600)  # past the retry
    again = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=1)
    assert {r.md for r in again if r.action == StapleAction.FETCHED} == set(theirs)
    assert all(r.status == OcspStatus.GOOD and r.error is None for r in again)


class TickingClock(Clock):
    """Real wall time, monotonic time 10 s further at every look: deadlines pass without waiting."""

    def __init__(self) -> None:
        self.mono = 0.0

    def monotonic(self) -> float:
        self.mono += 10.0
        return self.mono


class SilentInTheHelper(DyingInTheHelper):
    def exchange(self, method, url, body, deadline, headers=None):
        if os.getpid() != self.run_pid:
            signal.pause()  # silent until the run kills it
        return FakeTransport.exchange(self, method, url, body, deadline, headers)


def test_a_silent_helper_is_given_up_after_an_exchange_timeout_and_killed(store, pki, http, config, rng, web):
    clock = TickingClock()
    names, targets = managed(store, pki, web, 4)
    silent = SilentInTheHelper(http.responder, os.getpid())
    results = refresh_staples(store, targets, clock, transport=silent, config=config, rng=rng, processes=2)
    mine, theirs, queued, _chunk = shares(names, 2, False, 2)
    assert [r.action for r in results] == \
        [StapleAction.FETCHED] * len(mine) + [StapleAction.FAILED] * len(theirs) + [StapleAction.FETCHED] * len(queued)
    assert all("helper process gave no answer within %gs" % (config.timeout + 5) in r.error
               for r in results[len(mine):len(mine) + len(theirs)])


class KilledInTheHelper(DyingInTheHelper):
    """The helper answers ``answered`` exchanges, then gets SIGKILL (as from the OOM killer)."""

    answered = 3

    def __init__(self, responder, run_pid: int) -> None:
        super().__init__(responder, run_pid)
        self.left = self.answered
        self.counting = threading.Lock()  # with workers > 1 the exchanges run in threads

    def exchange(self, method, url, body, deadline, headers=None):
        if os.getpid() != self.run_pid:
            with self.counting:
                if self.left == 0:
                    os.kill(os.getpid(), signal.SIGKILL)
                self.left -= 1
        return FakeTransport.exchange(self, method, url, body, deadline, headers)


def test_a_helper_killed_mid_run_leaves_what_it_sent_stored_and_the_rest_retried(store, pki, clock, http, config,
                                                                                 rng, web, monkeypatch, fixed):
    import mdcore.forked

    monkeypatch.setattr(mdcore.forked, "_BATCH", 1)  # every verified answer reaches the run at once
    names, targets = managed(store, pki, web, 10)
    killed = KilledInTheHelper(http.responder, os.getpid())
    one_at_a_time = dataclasses.replace(config, workers=1)  # each answer sent before the next exchange
    results = refresh_staples(store, targets, clock, transport=killed, config=one_at_a_time, rng=rng, processes=2)
    mine, theirs, _queued, _chunk = shares(names, 2, False, 2)
    assert len(theirs) > KilledInTheHelper.answered
    assert [r.action for r in results[:len(mine)]] == [StapleAction.FETCHED] * len(mine)
    helped = [r.action for r in results[len(mine):]]
    assert helped.count(StapleAction.FETCHED) == KilledInTheHelper.answered  # sent before the kill
    assert helped.count(StapleAction.FAILED) == len(theirs) - KilledInTheHelper.answered
    staples = book(store)
    for res in results:
        staple = web / (res.md + ".der")
        if res.action == StapleAction.FETCHED:  # the helper's first answers too: stored by the run
            assert staple.exists() and staples[res.md + "/p256"]["status"] == OcspStatus.GOOD
        else:
            assert "helper process ended (killed by signal 9) before it answered everything" in res.error
            assert res.next_retry is not None and not staple.exists()
    assert not [f for f in os.listdir(web) if not f.endswith(".der")]  # no temp file left behind
    clock.advance(3600)  # past the retry
    again = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=1)
    assert {r.md for r in again if r.action == StapleAction.FETCHED} == \
        {r.md for r in results if r.action == StapleAction.FAILED}
    assert all(r.status == OcspStatus.GOOD and r.error is None for r in again)
