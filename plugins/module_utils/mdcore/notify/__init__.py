"""Events to a message command (mod_md's MDMessageCmd): the CommandNotifier EventSink and its
per-domain bookkeeping in <store>/events/. (The 'expiring' check reads a status report: it is
mdcore.status.expiring; notify imports nothing of status.)

The names below are imported on first use (mdcore/lazy.py): the status views read notify.state
without shipping the command runner. Files of plugins/ import the submodules."""

from __future__ import annotations

from ..lazy import lazy_names

_WHERE = {
    "CommandNotifier": "command", "Delivery": "command", "RATE_LIMITS": "command",
    "NotifyState": "state", "all_states": "state", "state_path": "state",
}
__getattr__ = lazy_names(__name__, _WHERE)
