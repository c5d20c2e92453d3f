"""Status pages as templates: their text with the few parts that change with the time alone left
open, filled in at the page's time.

md-status.json, index.html and mdfleet.prom say when they were generated, and the HTML rows and
the Prometheus x509 series show times relative to it ("in 3 days", expires in N seconds). Every
other byte of them changes only when a file behind them changes (or at a moment the status memo
knows). A page is a list of parts: text, or a slot (kind, moment...) that fill() writes for a
time. The views render through it, and the quiet memo (quiet.py) keeps the parts of an idle run's
pages and fills them at each later run's time, without building the views again. Only the
standard library and timefmt here: the quiet replay imports this module and nothing else of the
status views.
"""

from __future__ import annotations

import datetime

from ..timefmt import UTC, http_date, human_delta

# The kinds of slot. REL: (REL, unix moment, "due now" once passed) as the HTML shows it;
# HTTP_NOW / UNIX_NOW: the page's time; EXPIRED / EXPIRES_IN / VALID_SINCE: Prometheus' x509
# series of a certificate, from its notAfter (notBefore for VALID_SINCE).
REL, HTTP_NOW, UNIX_NOW, EXPIRED, EXPIRES_IN, VALID_SINCE = range(6)
MARK = "\x00"  # where a relative time stands in a rendered HTML row (html_view.Rel)
_HTML_SPECIAL = frozenset("&<>\"'")


def fill(parts: list, now: datetime.datetime) -> str:
    """The page for ``now``."""
    ts = now.timestamp()
    out = []
    add = out.append
    for part in parts:
        if part.__class__ is str:
            add(part)
            continue
        kind = part[0]
        if kind == REL:
            ahead = part[1] - ts
            add("due now" if part[2] and ahead <= 0 else _plain(human_delta(ahead)))
        elif kind == EXPIRES_IN:
            add("%d" % (part[1] - ts))
        elif kind == VALID_SINCE:
            add("%d" % (ts - part[1]))
        elif kind == EXPIRED:
            add("%d" % (part[1] <= ts))
        elif kind == UNIX_NOW:
            add(str(int(ts)))
        elif kind == HTTP_NOW:
            add(http_date(now))
        else:
            raise ValueError("not a status page slot: %r" % (part,))
    return "".join(out)


def _plain(text: str) -> str:
    """human_delta's words as HTML text ('in 3 days': nothing to escape)."""
    return text if _HTML_SPECIAL.isdisjoint(text) else escape(text)


def escape(text: str) -> str:
    """html.escape(text, quote=True), without importing html (and its table of 2,000 entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
        .replace("'", "&#x27;")


def marked(text: str, moments: list | tuple, into: list) -> None:
    """Append ``text`` to a page, its MARKs as REL slots of ``moments`` ((unix, due_now), in order)."""
    if not moments:
        into.append(text)
        return
    pieces = text.split(MARK)
    into.append(pieces[0])
    for (moment, due_now), piece in zip(moments, pieces[1:], strict=True):
        into.append((REL, moment, due_now))
        into.append(piece)


def at(ts: float) -> datetime.datetime:
    """A page's time from unix seconds (the quiet replay's clock)."""
    return datetime.datetime.fromtimestamp(ts, UTC)


__all__ = ["fill", "marked", "at", "escape", "MARK", "REL", "HTTP_NOW", "UNIX_NOW", "EXPIRED", "EXPIRES_IN",
           "VALID_SINCE"]
