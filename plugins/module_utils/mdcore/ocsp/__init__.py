"""OCSP stapling that survives responder outages (mod_md's promise), for the store's certificates
and for other certificate files (MDStapleOthers).

One file per responsibility: config (targets, knobs), state (constants, persisted metadata,
results), request (CertID, DER request), fetch (the exchange, through the engine's HTTP client), verify (response
checks), timing (windows, backoff), bookread (store layout, reading), persist (writing, pruning), outputs (staple files,
haproxy runtime API), refresh (the facade).

The names below are imported on first use (mdcore/lazy.py): a reader of ocsp.state (the status
views) neither imports nor ships the exchange side. Files of plugins/ import the submodules.
"""

from __future__ import annotations

from ..lazy import lazy_names

_WHERE = {
    "FetchMethod": "config", "StaplingConfig": "config", "StapleTarget": "config", "Window": "config",
    "prune": "persist", "staple_state": "bookread", "staple_state_of_file": "bookread",
    "managed_targets": "refresh", "refresh_staples": "refresh", "staple_store": "refresh",
    "unmatched_selection": "refresh",
    "OcspStatus": "state", "StapleAction": "state", "StapleResult": "state", "StapleState": "state",
    "DefaultTransport": "fetch", "HttpReply": "fetch", "Transport": "fetch",
}
__getattr__ = lazy_names(__name__, _WHERE)
