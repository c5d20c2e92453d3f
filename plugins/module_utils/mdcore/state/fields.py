"""Strict reading of the store's JSON state, and what happens to a file that does not read.

``from_json`` of every state class raises :class:`FormatError` (what is wrong, without the path);
:func:`read_state` adds the path: :class:`CorruptStateError` for a file that is not what it must be,
:class:`NewerStateError` for one written by a newer mdfleet (refused, never set aside: a downgrade
must not destroy what the newer engine wrote). Files written before the version field existed read
as version 1.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..clock import Clock, from_iso, to_iso
from ..errors import StoreError
from ..fsutil import rename

T = TypeVar("T")
CORRUPT_SUFFIX = ".corrupt-"


class FormatError(ValueError):
    """A JSON document that is not the state it must be (the message names the key)."""


class CorruptStateError(StoreError):
    """A store file that cannot be read as its state; ``path`` names it."""

    retry_hot = False

    def __init__(self, path: str, reason: str) -> None:
        super().__init__("%s is corrupt: %s" % (path, reason))
        self.path = path
        self.reason = reason


class NewerStateError(StoreError):
    """A store file of a newer format than this mdfleet reads."""

    retry_hot = False


# -- strict field readers -----------------------------------------------------------------------
def obj(doc: object, what: str) -> dict:
    if not isinstance(doc, dict):
        raise FormatError("%s must be a JSON object, not %s" % (what, kind(doc)))
    return doc


def kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def check_version(doc: dict, supported: int, what: str) -> int:
    """The document's version (absent: 1, files written before the field existed)."""
    version = doc.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError("%s: 'version' must be a positive integer, not %r" % (what, version))
    if version > supported:
        raise NewerVersion(version, supported)
    return version


class NewerVersion(FormatError):
    def __init__(self, version: int, supported: int) -> None:
        super().__init__("version %d; this mdfleet reads up to version %d (written by a newer mdfleet: upgrade it)"
                         % (version, supported))


def req_str(doc: dict, key: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise FormatError("%s: '%s' must be a non-empty string, not %s" % (what, key, kind(value)))
    return value


def opt_str(doc: dict, key: str, what: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError("%s: '%s' must be a string or null, not %s" % (what, key, kind(value)))
    return value


def str_list(doc: dict, key: str, what: str, required: bool = False) -> list[str]:
    value = doc.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError("%s: '%s' must be a list of strings, not %s" % (what, key, kind(value)))
    return list(value)


def str_map(doc: dict, key: str, what: str) -> dict[str, str]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise FormatError("%s: '%s' must be an object of strings, not %s" % (what, key, kind(value)))
    return dict(value)


def obj_map(doc: dict, key: str, what: str) -> dict[str, dict]:
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError("%s: '%s' must be an object, not %s" % (what, key, kind(value)))
    return value


def count(doc: dict, key: str, what: str) -> int:
    value = doc.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError("%s: '%s' must be a whole number >= 0, not %r" % (what, key, value))
    return value


def flag(doc: dict, key: str, what: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise FormatError("%s: '%s' must be true or false, not %s" % (what, key, kind(value)))
    return value


def opt_time(doc: dict, key: str, what: str) -> datetime.datetime | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError("%s: '%s' must be a time (ISO 8601 string), not %s" % (what, key, kind(value)))
    try:
        return from_iso(value)
    except ValueError:
        raise FormatError("%s: '%s' is no time: %r" % (what, key, value[:40])) from None


def req_time(doc: dict, key: str, what: str) -> datetime.datetime:
    value = opt_time(doc, key, what)
    if value is None:
        raise FormatError("%s: '%s' is missing" % (what, key))
    return value


def time_map(doc: dict, key: str, what: str) -> dict[str, datetime.datetime]:
    """An object of times (``{"p256": "2026-11-29T12:00:00Z"}``)."""
    raw = str_map(doc, key, what)
    return {name: req_time(raw, name, "%s: %s" % (what, key)) for name in raw}


def iso(moment: datetime.datetime | None) -> str | None:
    return to_iso(moment)


# -- files --------------------------------------------------------------------------------------
def _no_constants(name: str) -> Any:
    raise ValueError("%s is not valid JSON" % name)  # json accepts NaN/Infinity by default


_DECODER = json.JSONDecoder(parse_constant=_no_constants)  # one for all: json.loads(**kw) makes one a call


def parse_json(data: bytes) -> Any:
    """JSON as the store writes it: UTF-8, no NaN/Infinity."""
    try:
        return _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FormatError("not UTF-8 text") from None
    except RecursionError:
        raise FormatError("nested too deeply") from None
    except ValueError as exc:
        raise FormatError("not JSON (%s)" % exc) from None


def read_state(path: str, parse: Callable[[Any], T]) -> T | None:
    """The state in ``path`` via ``parse`` (a from_json); None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptStateError(path, "a folder where a file must be") from None
    except OSError as exc:
        raise StoreError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    return parse_state(path, data, parse)


def parse_state(path: str, data: bytes, parse: Callable[[Any], T]) -> T:
    """The state in ``data``, the bytes of ``path``, via ``parse``: read_state() of bytes read
    already (the same errors)."""
    if not data.strip():
        raise CorruptStateError(path, "empty")
    try:
        return parse(parse_json(data))
    except NewerVersion as exc:
        raise NewerStateError("%s has %s" % (path, exc)) from None
    except FormatError as exc:
        raise CorruptStateError(path, str(exc)) from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:  # a reader's gap
        raise CorruptStateError(path, "%s: %s" % (type(exc).__name__, exc)) from None


def set_aside(path: str, clock: Clock) -> str:
    """Rename a corrupt file (or folder) to ``<path>.corrupt-<time>`` so it can be rebuilt and
    still be looked at; returns the new name."""
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    target = path + CORRUPT_SUFFIX + stamp
    n = 1
    while os.path.lexists(target):
        n += 1
        target = "%s%s%s-%d" % (path, CORRUPT_SUFFIX, stamp, n)
    try:
        rename(path, target)
    except OSError as exc:
        raise StoreError("cannot set the corrupt %s aside: %s" % (path, exc.strerror or exc)) from None
    return target
