"""What the message command was told, per domain (mdcore.notify's bookkeeping), as status shows it.
status imports notify.state; notify imports nothing of status."""

from __future__ import annotations

import os

from ..notify.state import NotifyState, state_path
from ..storeread import StoreReader
from .model import NotifyFailure, NotifyView


def notify_view(store: StoreReader, name: str) -> NotifyView | None:
    if not os.path.exists(state_path(store, name)):
        return None
    state = NotifyState.load(store, name)
    view = NotifyView(failures=state.failures, pending=[p.event for p in state.pending],
                      last_sent=dict(state.last_success))
    if state.last_failure is not None:
        f = state.last_failure
        view.last_failure = NotifyFailure(f.event, f.at, f.error or "failed", f.timed_out)
    if state.last_postponed is not None:
        p = state.last_postponed
        view.postponed = NotifyFailure(p.event, p.at, p.error or "postponed", p.timed_out)
    return view


__all__ = ["notify_view"]
