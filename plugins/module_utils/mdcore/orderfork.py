"""Orders in a second process: a run's threads share one GIL, so on several cores a big run hands
a share of its due domains to a forked order process (mdcore/forked.py), which drives them as the
run's own threads would and sends each domain's result back.

What the two processes share and how:
- the store lock: held by the run; the order process holds the inherited descriptor and never
  unlocks it (it ends with os._exit, and dies with the run: PR_SET_PDEATHSIG);
- the store: the order process writes only the files of the domains it was given (their staging,
  order, job, activation, pending install); the run writes none of them until it has ended, and
  learns its notes and file checks from its results (Store.adopt_forked);
- the ACME account: made or looked up by the run before the fork (one registration), read by both;
- the CA: each process has its own HTTP connections and nonces (a nonce is used once), the
  directory is the run's copy;
- http-01 by the standalone listener: one listener in the run; while the order process works it
  answers every well-formed token with token.<thumbprint of the shared account key> (what the
  key authorization of any order of that account is, RFC 8555 8.1: no secret, and only orders
  of that account validate with it), so no token has to be handed over. Each token it serves
  goes down a pipe to the order process (FetchRelay), whose orders then look at their
  authorizations as soon as the CA fetched, as the run's own do (Solver.fetched).

An order process that dies or goes silent past the orders' deadline ends in an error for each
domain it had not answered, naming it; the run's own domains are handled regardless.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .acme.resources import ChallengeType
from .clock import Clock, Deadline
from .config import HTTP01_STANDALONE, MdConfig
from .errors import MdError
from .forked import Helper, HelperGone
from .workpool import run_each

FORK_MIN_DUE = 16  # due domains below which one process is faster (the fork and a second CA session cost)
FORK_SHARE = 0.5  # of the due domains that may go: the run also answers the CA's validations
GRACE = 10.0  # seconds beyond the orders' deadline that the run waits for the order process's next word


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Fork:
    """The run's end of an order process: which domains it holds and their results."""

    helper: Helper
    held: list[int]  # indices into the run's domains
    names: list[str]
    deadline: Deadline
    release: Callable[[], None]  # the listener's shared answering ends

    def collect(self, merge: Callable[[int, object, list, object], None]) -> list[tuple[int, MdError]]:
        """Wait for every held domain's result (``merge(index, result, notes, verified)``);
        returns an error for each one the process did not answer."""
        pending = set(self.held)
        why = ""
        try:
            while pending:
                for index, result, notes, verified in self.helper.take(self.deadline):
                    pending.discard(index)
                    merge(index, result, notes, verified)
        except HelperGone as exc:
            why = str(exc)
        finally:
            self.helper.close()
            self.release()
        if not pending:
            return []
        lost = [self.names[self.held.index(i)] for i in sorted(pending)]
        text = ("not finished: the order process (pid %d) of %s: %s; the next run resumes its orders"
                % (self.helper.pid, ", ".join(lost), why.replace("the helper process", "it")))
        return [(i, MdError(text)) for i in sorted(pending)]


def forkable(cfg: MdConfig, first: MdConfig) -> bool:
    """Whether ``cfg`` may go to an order process led by ``first``: one CA, the same account, and
    http-01 (standalone on the same listener, or the web server's folder)."""
    chal, lead = cfg.challenge, first.challenge
    if len(cfg.cas) != 1 or cfg.imported or chal.type != ChallengeType.HTTP01:
        return False
    ca, lead_ca = cfg.cas[0], first.cas[0]
    if (ca.url, ca.eab_kid, ca.ca_bundle, cfg.proxy) != (lead_ca.url, lead_ca.eab_kid, lead_ca.ca_bundle, first.proxy):
        return False
    if chal.http01_mode != HTTP01_STANDALONE:
        return True
    return (chal.standalone_address, chal.standalone_port) == (lead.standalone_address, lead.standalone_port)


def share(cfgs: list[MdConfig], waiting: list[int], processes: int | None) -> list[int]:
    """The domains (indices) an order process takes: none below FORK_MIN_DUE due domains or on
    one CPU (``processes`` 2 forks for two domains or more, 1 never)."""
    if processes is None:
        processes = 2 if cpus() > 1 and len(waiting) >= FORK_MIN_DUE else 1
    if processes < 2 or len(waiting) < 2 or not hasattr(os, "fork"):
        return []
    lead = next((cfgs[i] for i in waiting if forkable(cfgs[i], cfgs[i])), None)
    if lead is None:
        return []
    fit = [i for i in waiting if forkable(cfgs[i], lead)]
    count = min(len(fit), max(1, int(len(waiting) * FORK_SHARE)))
    return fit[len(fit) - count:]


def split_workers(workers: int) -> tuple[int, int]:
    """``workers`` orders at a time (the host option) shared by the run and its order process
    (one each at least): the option stays what a CA sees at once."""
    theirs = max(1, workers // 2)
    return max(1, workers - theirs), theirs


def start(store, cfgs: list[MdConfig], held: list[int], drive: Callable[[MdConfig], object], clock: Clock,
          deadline: Deadline | None, workers: int) -> Fork | None:
    """Make the account ready, open the shared listener and fork the order process for ``held``
    with ``workers`` orders at a time (``drive(cfg)``: the run's handling of one domain). None
    where that did not work: the run drives them itself (an account that cannot be made fails
    there, for each domain)."""
    from . import faults, issuance
    from .acme.account import AccountStore
    from .acme.account_gate import ACCOUNTS

    lead = cfgs[held[0]]
    ca = lead.cas[0]
    budget = Deadline(clock, lead.order_timeout)
    if deadline is not None:
        budget = deadline.within(budget.seconds)
    try:
        issuance.check_may_use_account(store, lead, ca)
        transport = issuance.transport_for(ca, lead, clock)
        transport.directory(budget)
        _account, key = ACCOUNTS.ensure(transport, AccountStore(store.path("accounts"), note=store.note),
                                        issuance.account_options(ca, lead), budget)
    except (MdError, OSError):
        return None
    release, relay = _answer_for(lead, key.thumbprint())
    orders = max(cfg.order_timeout for cfg in (cfgs[i] for i in held))
    wait = Deadline(clock, orders + GRACE) if deadline is None else deadline.within(deadline.remaining() + GRACE)

    def work(send: Callable) -> None:
        faults.forked()
        issuance.forked_transports()
        if relay is not None:
            relay.receive()
        lock = threading.Lock()
        notes_seen = len(store.notes)

        def one(i: int) -> None:
            nonlocal notes_seen
            result = _picklable(drive(cfgs[i]))
            with lock:
                notes, notes_seen = store.notes[notes_seen:], len(store.notes)
                send((i, result, notes, store.verified_entry(cfgs[i].name)))

        run_each(one, held, workers, "mdfleet-order")

    helper = Helper.start(work, clock)
    if relay is not None:
        relay.sending()
    if helper is None:
        release()
        return None
    return Fork(helper, held, [cfgs[i].name for i in held], wait, release)


def _answer_for(cfg: MdConfig, thumbprint: str) -> tuple[Callable[[], None], FetchRelay | None]:
    """Open (or share) the standalone listener of ``cfg`` answering every token for the account
    key ``thumbprint``; returns what ends that, and the relay of its fetches to the order process
    (None: the web server's folder, or no pipe)."""
    chal = cfg.challenge
    if chal.http01_mode != HTTP01_STANDALONE:
        return (lambda: None), None
    from .challenges.http01 import LISTENERS

    listener = LISTENERS.acquire(chal.standalone_address, chal.standalone_port)
    listener.answer_all(thumbprint)
    relay = FetchRelay.open(listener)

    def release() -> None:
        listener.answer_all(None)
        if relay is not None:
            relay.close()
        LISTENERS.release(chal.standalone_address, chal.standalone_port)

    return release, relay


class FetchRelay:
    """The tokens the run's listener served, down a pipe to the order process's copy of that
    listener (its note_fetched): a token is no secret, and a lost one only costs the order its
    fixed first wait. The run never blocks on it (a full pipe drops the token)."""

    def __init__(self, listener, read_end: int, write_end: int) -> None:
        self.listener, self.read_end, self.write_end = listener, read_end, write_end

    @classmethod
    def open(cls, listener) -> FetchRelay | None:
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return None
        os.set_blocking(write_end, False)
        return cls(listener, read_end, write_end)

    def sending(self) -> None:
        """In the run, after the fork: every token the listener serves goes down the pipe."""
        _close(self.read_end)
        self.read_end = -1
        self.listener.relay = self._send

    def _send(self, token: str) -> None:
        try:
            os.write(self.write_end, token.encode("ascii", "replace") + b"\n")
        except (OSError, ValueError):  # a full pipe, an order process gone, a closed relay
            pass

    def receive(self) -> None:
        """In the order process: a thread hands every token that arrives to the listener's copy."""
        _close(self.write_end)
        self.write_end = -1
        self.listener.relay = None  # the copy serves nothing: nothing to send on
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        pending = b""
        while True:
            try:
                data = os.read(self.read_end, 4096)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return  # the run closed its end
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.listener.note_fetched(line.decode("ascii", "replace"))

    def close(self) -> None:
        """In the run: the relay ends (the order process's thread sees the pipe closed)."""
        self.listener.relay = None
        _close(self.write_end)
        self.write_end = -1


def _close(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


def _picklable(result: object) -> object:
    """The result as the run can read it: an error whose class does not pickle becomes an MdError
    with its text (what the run reports of it)."""
    try:
        pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        return result
    except Exception:  # whatever an exception's constructor makes of its pickled arguments
        return MdError(str(result))


__all__ = ["FORK_MIN_DUE", "FetchRelay", "Fork", "cpus", "forkable", "share", "split_workers", "start"]
