"""Events to a message command (mod_md's MDMessageCmd): the CommandNotifier EventSink and its
per-domain bookkeeping in <store>/events/. (The 'expiring' check reads a status report: it is
mdcore.status.expiring; notify imports nothing of status.)"""

from .command import RATE_LIMITS, CommandNotifier, Delivery
from .state import NotifyState, all_states, state_path

__all__ = ["CommandNotifier", "Delivery", "RATE_LIMITS", "NotifyState", "all_states", "state_path"]
