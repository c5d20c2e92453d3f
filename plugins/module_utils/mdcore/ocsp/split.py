"""A second process for a big stapling run: a forked helper (mdcore/forked.py) builds the
requests of a share of the due staples, asks the responders and verifies the answers, and sends
each verified response (or why there is none) back; the run asks for and verifies the rest
itself and stores everything (the helper writes nothing). Verification and the exchanges are
most of a staple's CPU, and one process's threads share one GIL: with a helper both cores work.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..clock import Clock, Deadline
from ..errors import OcspError
from ..forked import Helper, HelperGone
from .config import StaplingConfig

if TYPE_CHECKING:
    from .fetch import Transport

HELPER_MIN_DUE = 64  # below this the fork (a few ms) and the pipe cost more than they save
HELPER_SHARE = 0.7  # of the due staples: the run also stores every one, the helper only verifies
HELPER_GRACE = 5.0  # seconds beyond an exchange's timeout that the run waits for the helper's next word


def shares(due: list, processes: int | None, own_transport: bool, cpus: int | None) -> tuple[list, list]:
    """(what the run asks itself, what a helper asks). ``processes`` 1: no helper; 2: a helper
    for two due staples or more; None: 2 on several CPUs with the run's own HTTP client (an
    injected one may hold connections that two processes must not share) from HELPER_MIN_DUE on."""
    if processes is None:
        processes = 2 if own_transport and (cpus or 1) > 1 and len(due) >= HELPER_MIN_DUE else 1
    if processes < 2 or len(due) < 2:
        return due, []
    cut = len(due) - max(1, int(len(due) * HELPER_SHARE))
    return due[:cut], due[cut:]


def workers(total: int, theirs: int) -> tuple[int, int]:
    """``total`` exchanges at a time split between the run and its helper (one each at least)."""
    if not theirs or total < 2:
        return total, total
    helper = max(1, min(total - 1, round(total * HELPER_SHARE)))
    return total - helper, helper


class Share:
    """The helper's jobs (refresh._Job), and which of them it has not answered yet."""

    def __init__(self, jobs: list, helper: Helper, config: StaplingConfig, deadline: Deadline | None) -> None:
        self.jobs, self.helper, self.config, self.deadline = jobs, helper, config, deadline
        self.pending = set(range(len(jobs)))

    def ready(self, block: bool) -> list[tuple]:
        """(job, verified response or None) of the answers that arrived; with ``block``, at least
        one, or every job still pending, failed, when the helper ended, failed or went silent
        for longer than an exchange may take. A job without a response has its failure set."""
        wait = None
        if block:
            seconds = self.config.timeout + HELPER_GRACE  # every exchange ends within its timeout
            if self.deadline is not None:
                seconds = min(seconds, self.deadline.remaining() + HELPER_GRACE)
            wait = Deadline(self.helper.clock, seconds)
        try:
            answers = self.helper.take(wait)
        except HelperGone as exc:
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
        """The jobs the helper did not answer, each failed with ``why``."""
        out = []
        for index in sorted(self.pending):
            job = self.jobs[index]
            job.failure = OcspError("not asked or not verified: %s" % why)
            out.append(job)
        self.pending.clear()
        return out

    def close(self) -> None:
        self.helper.close()


def start(jobs: list, prepare: Callable, transport: Transport, config: StaplingConfig, clock: Clock,
          deadline: Deadline | None, now: datetime.datetime, parallel: int) -> Share | None:
    """Fork the helper for ``jobs`` (None: no fork here, the run asks them itself)."""
    from . import verify  # noqa: F401  loaded before the fork: both processes use it
    from .fetch import fetch_all

    def work(send: Callable) -> None:
        from .verify import verify_response

        asking = []
        for index, job in enumerate(jobs):
            if prepare(job, config):
                asking.append(index)
            else:
                send((index, None, str(job.failure)))
        asks = [(jobs[i].subject.responder_url, jobs[i].request) for i in asking]
        for k, outcome in fetch_all(transport, asks, replace(config, workers=parallel), clock, deadline):
            job = jobs[asking[k]]
            if isinstance(outcome, bytes):
                try:
                    outcome = verify_response(outcome, job.subject, job.certid, now, config.max_skew)
                except OcspError as exc:
                    outcome = str(exc)
            else:
                outcome = str(outcome)
            send((asking[k], job.certid, outcome))

    helper = Helper.start(work, clock)
    return Share(jobs, helper, config, deadline) if helper is not None else None


__all__ = ["HELPER_MIN_DUE", "HELPER_SHARE", "Share", "shares", "start", "workers"]
