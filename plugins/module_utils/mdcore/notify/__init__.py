"""Events to a message command (mod_md's MDMessageCmd): the CommandNotifier EventSink, its
per-domain bookkeeping in <store>/events/, and the 'expiring' check run on every drive."""

from .command import RATE_LIMITS, CommandNotifier, Delivery, RunOutcome, run_command
from .expiring import check_expiring, expiring_details
from .state import NotifyState, all_states, state_path

__all__ = ["CommandNotifier", "Delivery", "RunOutcome", "run_command", "RATE_LIMITS", "check_expiring",
           "expiring_details", "NotifyState", "all_states", "state_path"]
