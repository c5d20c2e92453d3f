"""Windows before the end of a lifetime: when a certificate is renewed (MDRenewWindow), when its
expiry is warned about (MDWarnWindow) and when an OCSP response is refreshed
(MDStaplingRenewWindow).

One rule for all of them, mod_md's: a percentage of the lifetime (``33%``) or a duration with a
unit (``90s``, ``30m``, ``12h``, ``2d``, ``1w``). A duration at least as long as the lifetime would
make every run renew: it is capped at half the lifetime. Percentages are the better choice now that
lifetimes shrink (45 days, 6 days for short-lived certificates, hours for some OCSP responses).

The one duration convention of module, role and host config: a duration is a number of seconds,
or a number with a unit. A window's bare number is the one exception, mod_md's old spelling for
days: still read as days, with a deprecation note (options/check.py), so write ``30d``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .errors import ConfigError

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def duration_seconds(value: str | int | float, bare_unit: str = "s") -> float | None:
    """'90s', '30m', '12h', '2d', '1w' or a bare number (in ``bare_unit``) -> seconds; None when
    ``value`` is no duration. The one duration grammar of the engine."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) * UNIT_SECONDS[bare_unit]
    match = DURATION_RE.match(str(value))
    if not match:
        return None
    return float(match.group(1)) * UNIT_SECONDS[(match.group(2) or bare_unit).lower()]


def is_bare_number(value: str | int | float) -> bool:
    """A number without a unit (a window's deprecated spelling of days)."""
    match = DURATION_RE.match(str(value))
    return bool(match) and not match.group(2)


@dataclass(frozen=True)
class Window:
    """Either a share of the lifetime (``percent``) or a fixed duration (``seconds``) before its end.
    No default of its own: each window's is in the option table (mdcore/options/)."""

    text: str
    percent: float | None = None
    seconds: float | None = None

    @classmethod
    def parse(cls, value: str | int | float | Window, what: str = "window") -> Window:
        if isinstance(value, Window):
            return value
        raw = str(value).strip()
        known = _PARSED.get(raw)
        if known is not None:  # a run parses the same few windows for every domain, several times
            return known
        window = cls._parse(raw, what)
        if len(_PARSED) < 256:
            _PARSED[raw] = window
        return window

    @classmethod
    def _parse(cls, raw: str, what: str) -> Window:
        match = PERCENT_RE.match(raw)
        if match:
            percent = float(match.group(1))
            if not 0 < percent < 100:
                raise ConfigError("%s %r must be between 0%% and 100%%" % (what, raw))
            return cls(raw, percent=percent)
        seconds = duration_seconds(raw, bare_unit="d")
        if seconds is None:
            raise ConfigError("%s %r is neither a percentage ('33%%') nor a duration ('30d', '12h')" % (what, raw))
        if seconds <= 0:
            raise ConfigError("%s %r must be positive" % (what, raw))
        return cls(raw, seconds=seconds)

    def before_end(self, begin: datetime.datetime, end: datetime.datetime) -> datetime.timedelta:
        """How long before ``end`` the window opens, for a lifetime from ``begin`` to ``end``."""
        lifetime = end - begin
        if self.percent is not None:
            return lifetime * (self.percent / 100.0)
        window = datetime.timedelta(seconds=self.seconds or 0)
        return lifetime / 2 if window >= lifetime else window

    def start(self, begin: datetime.datetime, end: datetime.datetime) -> datetime.datetime:
        """The moment the window opens."""
        return end - self.before_end(begin, end)

    def __str__(self) -> str:
        return self.text


_PARSED: dict[str, Window] = {}  # text -> its Window (immutable); only windows that parsed


__all__ = ["Window", "duration_seconds", "is_bare_number"]
