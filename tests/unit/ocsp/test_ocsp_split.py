"""A forked helper verifying a share of a stapling run (ocsp/split.py, mdcore/forked.py): the run
stores every staple either way, the helper's bad answers are judged as the run's own are, and a
helper that ends early or goes silent costs its share a retry, never the store."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading

import pytest
from cryptography.x509 import ocsp

from mdcore.clock import Clock
from mdcore.ocsp import OcspStatus, StapleAction, managed_targets, refresh_staples
from mdcore.ocsp.persist import BOOK_FILE
from mdcore.ocsp.split import HELPER_MIN_DUE, shares, workers
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


def test_shares_only_split_what_is_worth_a_process():
    due = list(range(100))
    assert shares(due, None, True, 2) == (due[:30], due[30:])  # HELPER_SHARE 0.7 to the helper
    assert shares(due, None, False, 2) == (due, [])  # an injected transport is never shared
    assert shares(due, None, True, 1) == (due, [])  # one CPU: nothing to gain
    assert shares(due[:HELPER_MIN_DUE - 1], None, True, 2) == (due[:HELPER_MIN_DUE - 1], [])
    assert shares(due, 1, True, 2) == (due, [])
    assert shares(due[:2], 2, False, 1) == (due[:1], due[1:2])  # asked for: even two
    assert shares(due[:1], 2, True, 2) == (due[:1], [])
    assert workers(8, 0) == (8, 8) and workers(8, 5) == (2, 6) and workers(1, 5) == (1, 1)
    assert workers(2, 5) == (1, 1)


def test_the_helper_verifies_a_share_and_the_run_stores_every_staple(store, pki, clock, http, config, rng, web):
    names, targets = managed(store, pki, web, 6)
    results = refresh_staples(store, targets, clock, transport=http, config=config, rng=rng, processes=2)
    assert [(r.md, r.action, r.status, r.error) for r in results] == \
        [(name, StapleAction.FETCHED, OcspStatus.GOOD, None) for name in names]
    mine, _theirs = shares(names, 2, False, 2)
    assert len(http.calls) == len(mine)  # the helper's exchanges were its own process's
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
    names, targets = managed(store, pki, web, 6)
    dying = DyingInTheHelper(http.responder, os.getpid())
    results = refresh_staples(store, targets, clock, transport=dying, config=config, rng=rng, processes=2)
    mine, theirs = shares(names, 2, False, 2)
    assert [r.action for r in results] == [StapleAction.FETCHED] * len(mine) + [StapleAction.FAILED] * len(theirs)
    for res in results[len(mine):]:
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
    mine, theirs = shares(names, 2, False, 2)
    assert [r.action for r in results] == [StapleAction.FETCHED] * len(mine) + [StapleAction.FAILED] * len(theirs)
    assert all("helper process gave no answer within %gs" % (config.timeout + 5) in r.error
               for r in results[len(mine):])


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
                                                                                 rng, web, monkeypatch):
    import mdcore.forked

    monkeypatch.setattr(mdcore.forked, "_BATCH", 1)  # every verified answer reaches the run at once
    names, targets = managed(store, pki, web, 10)
    killed = KilledInTheHelper(http.responder, os.getpid())
    one_at_a_time = dataclasses.replace(config, workers=1)  # each answer sent before the next exchange
    results = refresh_staples(store, targets, clock, transport=killed, config=one_at_a_time, rng=rng, processes=2)
    mine, theirs = shares(names, 2, False, 2)
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
