"""A second process for a big stapling run: a forked helper (mdcore/forked.py) builds the
requests of a share of the due staples, asks the responders and verifies the answers, and sends
each verified response (or why there is none) back; the run asks for and verifies the rest
itself and stores everything (the helper writes nothing). Verification and the exchanges are
most of a staple's CPU, and one process's threads share one GIL: with a helper both cores work.

Each process begins with a fixed part; most due staples wait in a queue of chunks (ChunkQueue)
that either takes from when it has room for more exchanges (Transport.exchange_all's ``more``),
so the two end together however the scheduler shares the cores out (no fixed share did: the
process that ended first waited for 10-800 of the other's staples).
"""

from __future__ import annotations

import datetime
import os
import struct
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from ..clock import Clock, Deadline
from ..errors import OcspError
from ..forked import Helper, HelperGone
from .config import StaplingConfig

if TYPE_CHECKING:
    from .fetch import Transport

HELPER_MIN_DUE = 64  # below this the fork (a few ms) and the pipe cost more than they save
HELPER_SHARE = 0.7  # of the fixed part: the run also stores every one, the helper only verifies
QUEUED = 0.75  # of the due staples: taken in chunks from one queue by whichever process has room
CHUNK = 8  # staples per chunk of the queue (at most; fewer for small runs)
MAX_CHUNKS = 8192  # 32 KiB of chunk numbers, within a pipe's usual 64 KiB (a smaller pipe: no queue)
HELPER_GRACE = 5.0  # seconds beyond an exchange's timeout that the run waits for the helper's next word
_NUMBER = struct.Struct("=I")


class Split(NamedTuple):
    """Who asks which due staples: ``mine`` the run, ``theirs`` the helper, ``queued`` whichever
    of the two takes their chunk first (``chunk`` staples each)."""

    mine: list
    theirs: list
    queued: list
    chunk: int

    def chunk_jobs(self, number: int) -> range:
        """Queued chunk ``number`` as indices into ``theirs + queued`` (the helper's jobs)."""
        begin = len(self.theirs) + number * self.chunk
        return range(begin, min(begin + self.chunk, len(self.theirs) + len(self.queued)))


def shares(due: list, processes: int | None, own_transport: bool, cpus: int | None) -> Split:
    """Who asks what. ``processes`` 1: no helper; 2: a helper for two due staples or more;
    None: 2 on several CPUs with the run's own HTTP client (an injected one may hold
    connections that two processes must not share) from HELPER_MIN_DUE on. Of a split, QUEUED
    goes into the queue, the rest is divided by HELPER_SHARE (the helper gets one at least)."""
    if processes is None:
        processes = 2 if own_transport and (cpus or 1) > 1 and len(due) >= HELPER_MIN_DUE else 1
    if processes < 2 or len(due) < 2:
        return Split(due, [], [], 1)
    queued = min(int(len(due) * QUEUED), len(due) - 1)
    fixed = len(due) - queued
    cut = fixed - max(1, int(fixed * HELPER_SHARE))
    chunk = max(1, min(CHUNK, queued // 16), -(-queued // MAX_CHUNKS))
    return Split(due[:cut], due[cut:fixed], due[fixed:], chunk)


def workers(total: int, theirs: int) -> tuple[int, int]:
    """``total`` exchanges at a time split between the run and its helper (one each at least)."""
    if not theirs or total < 2:
        return total, total
    helper = max(1, min(total - 1, round(total * HELPER_SHARE)))
    return total - helper, helper


class ChunkQueue:
    """The numbers of the queued chunks in a pipe, written before the fork with its write end
    closed: each process takes the next chunk with a read of 4 bytes (atomic on a pipe), and
    the end of the file says that none is left. A read never waits: everything was written."""

    def __init__(self, fd: int, count: int) -> None:
        self.fd, self.count = fd, count

    @classmethod
    def fill(cls, count: int) -> ChunkQueue | None:
        """A queue of chunks 0 .. count-1; None when the pipe does not take them at once."""
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        data = b"".join(_NUMBER.pack(k) for k in range(count))
        try:
            written = os.write(write_end, data) if data else 0
        except BlockingIOError:
            written = -1
        finally:
            os.close(write_end)
        if written != len(data):
            os.close(read_end)
            return None
        return cls(read_end, count)

    def take(self) -> int | None:
        """The next chunk's number, None when none is left."""
        if self.fd < 0:
            return None
        data = os.read(self.fd, _NUMBER.size)
        if len(data) != _NUMBER.size:
            return None
        return _NUMBER.unpack(data)[0]

    def drain(self) -> list[int]:
        """The chunks nobody took (once the helper is gone: the run takes them)."""
        out = []
        while (number := self.take()) is not None:
            out.append(number)
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Share:
    """The jobs (refresh._Job) of the helper and of the queue, and which of them are still the
    helper's to answer: its own, and every queued one the run has not taken (when the helper is
    gone, the chunks still in the queue become the run's: it asks them itself)."""

    def __init__(self, split: Split, queue: ChunkQueue | None, helper: Helper, config: StaplingConfig,
                 deadline: Deadline | None) -> None:
        self.jobs, self.split = split.theirs + split.queued, split
        self.queue, self.helper, self.config, self.deadline = queue, helper, config, deadline
        self.pending = set(range(len(self.jobs)))
        self.left: list[int] = []  # chunks the run takes from here: the helper is gone
        self.gone = False  # the helper ended, failed or was given up: nothing more comes from it

    def indices(self, number: int) -> range:
        """The jobs of queued chunk ``number``."""
        return self.split.chunk_jobs(number)

    def take(self) -> list:
        """The jobs of the next chunk for the run itself ([]: none left)."""
        number = self.left.pop(0) if self.left else self.queue.take() if self.queue is not None else None
        if number is None:
            return []
        picked = self.indices(number)
        self.pending.difference_update(picked)
        return [self.jobs[i] for i in picked]

    def ready(self, block: bool) -> list[tuple]:
        """(job, verified response or None) of the answers that arrived; with ``block``, at least
        one, or every job still pending, failed, when the helper ended, failed or went silent
        for longer than an exchange may take. A job without a response has its failure set."""
        if self.gone:
            return []
        wait = None
        if block:
            seconds = self.config.timeout + HELPER_GRACE  # every exchange ends within its timeout
            if self.deadline is not None:
                seconds = min(seconds, self.deadline.remaining() + HELPER_GRACE)
            wait = Deadline(self.helper.clock, seconds)
        try:
            answers = self.helper.take(wait)
        except HelperGone as exc:
            self.gone = True
            self.helper.close()
            return [(job, None) for job in self.abandon(exc)]
        out = []
        for index, certid, outcome in answers:
            job = self.jobs[index]
            self.pending.discard(index)
            job.certid = certid
            if isinstance(outcome, str):
                job.failure = OcspError(outcome)
                outcome = None
            out.append((job, outcome))
        return out

    def abandon(self, why: HelperGone) -> list:
        """The jobs the helper took and did not answer, each failed with ``why``; the chunks
        still queued stay pending for the run, which takes them next."""
        if self.queue is not None:
            self.left.extend(self.queue.drain())  # nobody takes them from the pipe any more
        for number in self.left:
            self.pending.difference_update(self.indices(number))
        out = []
        for index in sorted(self.pending):
            job = self.jobs[index]
            job.failure = OcspError("not asked or not verified: %s" % why)
            out.append(job)
        self.pending.clear()
        return out

    def close(self) -> None:
        self.helper.close()
        if self.queue is not None:
            self.queue.close()


def start(split: Split, prepare: Callable, transport: Transport, config: StaplingConfig, clock: Clock,
          deadline: Deadline | None, now: datetime.datetime, parallel: int) -> Share | None:
    """Fork the helper for ``split.theirs`` and its part of the queue (None: no fork here, the
    run asks them all itself)."""
    from . import verify  # noqa: F401  loaded before the fork: both processes use it
    from .fetch import fetch_all

    queue = None
    if split.queued:
        queue = ChunkQueue.fill(-(-len(split.queued) // split.chunk))
        if queue is None:  # the pipe is too small: the queued staples are the helper's
            split = Split(split.mine, split.theirs + split.queued, [], split.chunk)
    jobs = split.theirs + split.queued
    count = len(split.theirs)

    def work(send: Callable) -> None:
        from .verify import verify_response

        asking: list[int] = []

        def ask(indices) -> list:
            asks = []
            for index in indices:
                job = jobs[index]
                if prepare(job, config):
                    asking.append(index)
                    asks.append((job.subject.responder_url, job.request))
                else:
                    send((index, None, str(job.failure)))
            return asks

        def more() -> list:
            while queue is not None and (number := queue.take()) is not None:
                asks = ask(split.chunk_jobs(number))
                if asks:
                    return asks
            return []

        asks = ask(range(count))
        for k, outcome in fetch_all(transport, asks, replace(config, workers=parallel), clock, deadline, more):
            job = jobs[asking[k]]
            if isinstance(outcome, bytes):
                try:
                    outcome = verify_response(outcome, job.subject, job.certid, now, config.max_skew)
                except OcspError as exc:
                    outcome = str(exc)
            else:
                outcome = str(outcome)
            send((asking[k], job.certid, outcome))

    if jobs:  # before the fork, once for both: the first request loads what all need (the issuer's
        prepare(jobs[0], config)  # chain parsed, its public key: cryptography's OpenSSL backend, 12 ms)
    helper = Helper.start(work, clock)
    if helper is None:
        if queue is not None:
            queue.close()
        return None
    return Share(split, queue, helper, config, deadline)


__all__ = ["CHUNK", "HELPER_MIN_DUE", "HELPER_SHARE", "QUEUED", "ChunkQueue", "Share", "Split", "shares", "start",
           "workers"]
