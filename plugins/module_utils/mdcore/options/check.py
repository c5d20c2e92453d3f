"""Strict checking of option values against the option table: module parameters, the host
config's sections and its managed domains alike. Wrong types are errors that name the key - no
truthy strings ("false" is not false), no NaN or Infinity, no empty string standing for a default,
no string where a list belongs - and old spellings that are still accepted leave a deprecation
note in ``notes`` (printed by `mdfleet`, turned into deprecation warnings by the modules)."""

from __future__ import annotations

import math
import os

from ..errors import ConfigError
from ..window import PERCENT_RE, Window, duration_seconds, is_bare_number
from .model import Kind, Option

DURATION_HINT = "seconds (a number) or a duration such as '90s', '30m', '12h', '2d'"


def key_error(where: str, key: str, what: str) -> ConfigError:
    """'config.json: domains[0] (shop): key_types[1]: what' (``where`` may be empty: module parameters)."""
    return ConfigError("%s: %s" % (": ".join(p for p in (where, key) if p), what))


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def join_key(prefix: str, name: str) -> str:
    return "%s.%s" % (prefix, name) if prefix else name


class _Table:
    """What check_options needs of a table, made once (the host config checks the same tables for
    each of its managed domains): every key (names and aliases) and each option's place."""

    def __init__(self, options: tuple[Option, ...]) -> None:
        self.options = options  # kept alive: its id stays its own
        self.known: dict[str, Option] = {}
        for opt in options:
            self.known[opt.name] = opt
            for alias in opt.aliases:
                self.known[alias] = opt
        self.place = {id(opt): i for i, opt in enumerate(options)}
        self.required = [opt for opt in options if opt.required]
        self._defaults: dict | None = None
        self._mutable: list[str] = []

    def given(self, doc: dict, required: bool = False) -> list[Option]:
        """The options ``doc`` has keys of (and the required ones), in the table's order."""
        chosen = {id(self.known[k]): self.known[k] for k in doc}
        if required:
            chosen.update((id(opt), opt) for opt in self.required)
        return sorted(chosen.values(), key=lambda o: self.place[id(o)])

    def defaults(self) -> dict:
        """Every option's default, in the table's order (lists and dicts as fresh copies)."""
        if self._defaults is None:
            self._defaults = {opt.name: _default(opt) for opt in self.options}
            self._mutable = [k for k, v in self._defaults.items() if isinstance(v, (list, dict))]
        out = dict(self._defaults)
        for name in self._mutable:
            out[name] = _fresh(out[name])
        return out


_TABLES: dict[int, _Table] = {}


def _table(options: tuple[Option, ...]) -> _Table:
    table = _TABLES.get(id(options))
    if table is None or table.options is not options:
        table = _TABLES[id(options)] = _Table(options)
    return table


def check_options(options: tuple[Option, ...], doc: object, where: str, notes: list[str] | None = None,
                  prefix: str = "", defaults: bool = True, partial: bool = False, memo: dict | None = None) -> dict:
    """``doc`` checked against ``options``: every key known (or an alias), every value typed; absent
    and null values take the option's default (``defaults``) or stay absent. ``partial``: required
    keys may be missing (the host config's defaults, completed by each domain). ``memo``: the same
    dict across calls whose documents share value objects (every managed domain's merge of the host
    config's defaults): a value checked before is not checked again. Raises ConfigError."""
    if not isinstance(doc, dict):
        raise key_error(where, prefix, "must be an object (a mapping of option names to values), not %s" % shown(doc))
    table = _table(options)
    unknown = sorted(str(k) for k in doc if k not in table.known)
    if unknown:
        raise key_error(where, prefix, "unknown key%s %s (known: %s)" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(o.name for o in options)))
    # Only the keys given (and the required ones) are looked at: the others take their default, or
    # stay absent (a domain's own few keys, checked before its merge with the host's defaults).
    out: dict = table.defaults() if defaults else {}
    for opt in table.given(doc, required=not partial):
        if opt.aliases:
            given = [k for k in (opt.name,) + opt.aliases if k in doc]
            if len({repr(doc[k]) for k in given}) > 1:  # Ansible keeps an alias beside the name, with the same value
                raise key_error(where, join_key(prefix, opt.name), "given twice (%s)" % " and ".join(given))
            value = doc[given[0]] if given else None
        else:
            value = doc.get(opt.name)
            given = value is not None or opt.name in doc
        if value is None:
            if opt.required and not partial:
                raise key_error(where, join_key(prefix, opt.name), "is required")
            if not defaults and given:
                out[opt.name] = None
            continue
        seen = memo.get(opt.name) if memo is not None else None
        if seen is not None and seen[0] is value:
            out[opt.name] = _fresh(seen[1])
            continue
        out[opt.name] = check_value(opt, value, where, join_key(prefix, opt.name), notes, partial)
        if memo is not None:
            memo[opt.name] = (value, _fresh(out[opt.name]))
    return out


def _fresh(value: object) -> object:
    """A checked value handed out again: lists and dicts as copies (configs change theirs)."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


_DEFAULTS: dict[int, tuple[Option, object]] = {}  # id(option) -> (option, its default as a value)


def _default(opt: Option) -> object:
    known = _DEFAULTS.get(id(opt))
    if known is None or known[0] is not opt:
        value = opt.default
        if isinstance(value, tuple):
            value = list(value)
        elif opt.kind == Kind.DURATION and value is not None:
            value = duration_seconds(value)  # e.g. "7d"
        known = _DEFAULTS[id(opt)] = (opt, value)
    return _fresh(known[1])


def check_value(opt: Option, value: object, where: str, key: str, notes: list[str] | None = None,
                partial: bool = False) -> object:
    """One value of ``opt`` (not None), typed and normalised, or a ConfigError naming ``key``."""
    if opt.kind in (Kind.LIST, Kind.ARGV):
        value = _list(opt, value, where, key, notes, partial)
    elif opt.kind == Kind.DICT:
        if opt.suboptions:
            value = check_options(opt.suboptions, value, where, notes, prefix=key, defaults=not partial,
                                  partial=partial)
        elif not isinstance(value, dict):
            raise key_error(where, key, "must be an object (a mapping), not %s" % shown(value))
    else:
        value = _scalar(opt.kind, opt, value, where, key, notes)
    if opt.check is not None and value is not None:
        try:
            value = opt.check(value)
        except ConfigError as exc:
            raise key_error(where, key, str(exc)) from None
    return value


def _list(opt: Option, value: object, where: str, key: str, notes: list[str] | None, partial: bool) -> list:
    if not isinstance(value, list):
        what = "a list of arguments (never a shell string)" if opt.kind == Kind.ARGV else "a list"
        raise key_error(where, key, "must be %s, not %s" % (what, shown(value)))
    out = []
    for index, item in enumerate(value):
        item_key = "%s[%d]" % (key, index)
        if opt.kind == Kind.ARGV or opt.elements in (Kind.STR, None):
            if not isinstance(item, str) or not item:
                raise key_error(where, item_key, "must be a non-empty string, not %s" % shown(item))
            _choice(opt, item, where, item_key)
            out.append(item)
        elif opt.elements == Kind.DICT:
            if opt.suboptions:
                out.append(check_options(opt.suboptions, item, where, notes, prefix=item_key, partial=partial))
            elif isinstance(item, dict):
                out.append(item)
            else:
                raise key_error(where, item_key, "must be an object, not %s" % shown(item))
        else:
            out.append(_scalar(opt.elements, opt, item, where, item_key, notes))
    return out


def _scalar(kind: str, opt: Option, value: object, where: str, key: str, notes: list[str] | None) -> object:
    if kind == Kind.BOOL:
        if not isinstance(value, bool):
            raise key_error(where, key, "must be true or false, not %s" % shown(value))
        return value
    if kind in (Kind.INT, Kind.FLOAT):
        return _number(kind, opt, value, where, key)
    if kind == Kind.DURATION:
        return _duration(opt, value, where, key)
    if kind == Kind.RAW:
        return value
    if kind == Kind.WINDOW and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise key_error(where, key, _window_hint(value))
        value = ("%d" % value) if value == int(value) else repr(value)  # an old spelling: days (noted below)
    if not isinstance(value, str):
        raise key_error(where, key, "must be a string, not %s" % shown(value) if kind != Kind.WINDOW
                        else _window_hint(value))
    if not value.strip():
        if opt.empty:
            return None
        raise key_error(where, key, "must not be empty%s" % _unset_hint(opt))
    if kind == Kind.PATH and not os.path.isabs(value):
        raise key_error(where, key, "must be an absolute path, not %s" % shown(value))
    if kind == Kind.WINDOW:
        return _window(value, where, key, notes)
    _choice(opt, value, where, key)
    return value


def _choice(opt: Option, value: str, where: str, key: str) -> None:
    if not opt.choices or value in opt.choices or opt.fold_case and value.lower() in opt.choices:
        return
    raise key_error(where, key, "must be one of %s, not %s" % (", ".join(map(str, opt.choices)), shown(value)))


def _unset_hint(opt: Option) -> str:
    if opt.default not in (None, "", [], ()):
        return " (leave the key out for the default, %s)" % shown(opt.default)
    return " (leave the key out to set none)"


def _number(kind: str, opt: Option, value: object, where: str, key: str) -> float:
    ok = isinstance(value, int) if kind == Kind.INT else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        what = "an integer" if kind == Kind.INT else "a number"
        raise key_error(where, key, "must be %s, not %s" % (what, shown(value)))
    if not math.isfinite(value):  # NaN compares false with every bound: refused before
        raise key_error(where, key, "must be a finite number, not %s" % shown(value))
    _bounds(opt, value, where, key)
    return value


def _bounds(opt: Option, value: float, where: str, key: str, unit: str = "") -> None:
    if opt.positive and value <= 0:
        raise key_error(where, key, "must be more than 0%s, not %s" % (unit, shown(value)))
    if opt.low is not None and value < opt.low or opt.high is not None and value > opt.high:
        if opt.high is None:
            raise key_error(where, key, "must be at least %g%s, not %s" % (opt.low, unit, shown(value)))
        if opt.low is None:
            raise key_error(where, key, "must be at most %g%s, not %s" % (opt.high, unit, shown(value)))
        raise key_error(where, key, "must be between %g and %g%s, not %s" % (opt.low, opt.high, unit, shown(value)))


def _duration(opt: Option, value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise key_error(where, key, "must be %s, not %s" % (DURATION_HINT, shown(value)))
    seconds = duration_seconds(value)
    if seconds is None or not math.isfinite(seconds):
        raise key_error(where, key, "must be %s, not %s" % (DURATION_HINT, shown(value)))
    _bounds(opt, seconds, where, key, " seconds")
    return seconds


def _window_hint(value: object) -> str:
    return "must be a percentage ('33%%') or a duration ('30d', '12h') as a string, not %s" % shown(value)


def _window(value: str, where: str, key: str, notes: list[str] | None) -> str:
    try:
        Window.parse(value, "")
    except ConfigError as exc:
        raise key_error(where, key, str(exc).strip()) from None
    if is_bare_number(value) and not PERCENT_RE.match(value) and notes is not None:
        notes.append("%s: a bare number (%s) in a window means days; this is deprecated, write '%sd'"
                     % (": ".join(p for p in (where, key) if p), value.strip(), value.strip()))
    return value


__all__ = ["check_options", "check_value", "key_error", "DURATION_HINT"]
