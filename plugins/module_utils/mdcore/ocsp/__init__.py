"""OCSP stapling that survives responder outages (mod_md's promise), for the store's certificates
and for other certificate files (MDStapleOthers).

One file per responsibility: config (targets, knobs), state (constants, persisted metadata,
results), request (CertID, DER request), fetch (the exchange, through the engine's HTTP client), verify (response
checks), timing (windows, backoff), persist (store layout, pruning), outputs (staple files,
haproxy runtime API), refresh (the facade).

The exchange side (fetch: the HTTP client) is imported on first use of its names, so that a run
with nothing to fetch, which imports this package, never loads it.
"""

from .config import FetchMethod, StapleTarget, StaplingConfig, Window
from .persist import prune, staple_state, staple_state_of_file
from .refresh import managed_targets, refresh_staples, staple_store, unmatched_selection
from .state import OcspStatus, StapleAction, StapleResult, StapleState

__all__ = [
    "FetchMethod", "StaplingConfig", "StapleTarget", "Window",
    "prune", "staple_state", "staple_state_of_file",
    "managed_targets", "refresh_staples", "staple_store", "unmatched_selection",
    "OcspStatus", "StapleAction", "StapleResult", "StapleState",
]


def __getattr__(name: str):
    """HttpReply, Transport and DefaultTransport (of fetch.py), imported on first use (not in
    __all__: a star import would load the HTTP client)."""
    if name in ("DefaultTransport", "HttpReply", "Transport"):
        from . import fetch

        return getattr(fetch, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
