"""Times in status views and event details: fast parsing of the store's ISO stamps, mod_md's HTTP-date text and
Unix timestamps for machines."""

from __future__ import annotations

import datetime

from .clock import from_iso

UTC = datetime.timezone.utc
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_iso(text: object) -> datetime.datetime | None:
    """The store's ISO stamps (clock.from_iso); None for anything unreadable: a view shows what
    it can."""
    if not isinstance(text, str):
        return None
    try:
        return from_iso(text)
    except ValueError:
        return None


def unix(moment: datetime.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


_HTTP_DATES: dict[datetime.datetime, str] = {}  # a domain's few times are shown 10-20 times
_KEEP = 50000


def http_date(moment: datetime.datetime | None) -> str | None:
    """mod_md's 'Sun, 29 Nov 2026 00:35:40 GMT', without strftime and its locale (a status of
    1,000 domains formats some 20,000 of these, of a few thousand times)."""
    if moment is None:
        return None
    text = _HTTP_DATES.get(moment)
    if text is None:
        utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
        fields = (_DAYS[utc.weekday()], utc.day, _MONTHS[utc.month], utc.year, utc.hour, utc.minute, utc.second)
        text = "%s, %02d %s %04d %02d:%02d:%02d GMT" % fields
        if len(_HTTP_DATES) < _KEEP:
            _HTTP_DATES[moment] = text
    return text


_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))


def _count(left: float) -> tuple[int, int, str]:
    for size, name in _UNITS:
        if left >= size:
            return int(left // size), size, name
    return int(left), 1, "second"


def human_delta(seconds: float) -> str:
    """'in 3 days', '5 hours ago': how people read an expiry at a glance."""
    count, _size, unit = _count(abs(seconds))
    text = "%d %s%s" % (count, unit, "" if count == 1 else "s")
    return ("in " + text) if seconds >= 0 else (text + " ago")


def delta_step(seconds: float) -> float:
    """How long human_delta(moment - now) keeps its text, as an offset from the moment: with
    ``seconds`` = moment - now, the text is the same while now < moment - delta_step(seconds)
    (now only grows: the distance to a future moment shrinks, to a past one grows)."""
    count, size, _unit = _count(abs(seconds))
    return count * size if seconds >= 0 else -(count + 1) * size


__all__ = ["parse_iso", "unix", "http_date", "human_delta", "delta_step", "UTC"]
