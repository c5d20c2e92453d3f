"""When an active certificate set is due for renewal, and when its expiry is warned about: one rule
for the plan (manager) and every status view.

The renew window (``33%`` of the lifetime left, or a duration) opens for each certificate; the set
is due when the first one opens. Where the CA gave an ARI time (RFC 9773) it wins, since the CA may
want an early renewal (before a mass revocation), but never later than the warn window opens, so
an ARI answer cannot let a certificate run into expiry.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from .state.certset import CertSet
from .state.job import AriState
from .window import Window


@dataclass(frozen=True)
class DueTimes:
    renew_at: datetime.datetime | None  # when the set is due (ARI's time or the renew window)
    warn_at: datetime.datetime | None  # when the first certificate enters the warn window
    via_ari: bool = False  # renew_at is the CA's ARI time


def due_times(cert_set: CertSet, renew: Window, warn: Window,
              ari: Mapping[str, AriState] | None = None) -> DueTimes:
    """The rule above for ``cert_set``; ``ari``: the job's ARI state per key type, None when ARI is
    off (or not this host's to ask: a shared domain's member)."""
    lifetimes = cert_set.lifetimes()
    window_at = min((renew.start(nb, na) for nb, na in lifetimes), default=None)
    warn_at = min((warn.start(nb, na) for nb, na in lifetimes), default=None)
    chosen = [a.chosen_at() for kt, a in (ari or {}).items() if kt in cert_set.certs]
    ari_at = min((c for c in chosen if c is not None), default=None)
    if ari_at is None or window_at is None:
        return DueTimes(window_at, warn_at)
    return DueTimes(min(ari_at, warn_at) if warn_at else ari_at, warn_at, True)


__all__ = ["DueTimes", "due_times"]
