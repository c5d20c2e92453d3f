"""The moments at which the decisions of a run change with time alone (quiet.py).

An idle `mdfleet drive` is replayed from the quiet memo until the earliest moment its run noted
here: a renew time, a retry after errors, an ARI check, a staple's refresh or expiry, the daily
hash check of a set, a status text's next change. The code that compares a time with "now" notes
the time it compared with; nothing is recorded unless a recording run started it (one process-wide
list: the run is one process, its worker threads append to it, and list.append is atomic).
"""

from __future__ import annotations

import datetime

_moments: list[float] | None = None  # None: nobody records
_recorder = None  # the quiet.Recorder of the run in progress (here, not in quiet.py: modules never ship that)


def note(moment: datetime.datetime | float | None) -> None:
    """A decision made in this run holds until ``moment`` (a datetime or unix seconds)."""
    if _moments is None or moment is None:
        return
    _moments.append(moment.timestamp() if isinstance(moment, datetime.datetime) else float(moment))


def start(recorder: object = None) -> None:
    global _moments, _recorder
    _moments, _recorder = [], recorder


def recorder():
    """The quiet.Recorder of the run in progress (the status writer gives it its pages; cli.run
    freezes it before it gives the lock back), or None."""
    return _recorder


def stop(after: float) -> float | None:
    """Ends the recording; the earliest moment noted that lies after ``after`` (None: none).
    Moments at or before it were due in this run, which then was no idle one."""
    global _moments, _recorder
    noted, _moments, _recorder = _moments or [], None, None
    later = [m for m in noted if m > after]
    return min(later) if later else None


__all__ = ["note", "start", "stop", "recorder"]
