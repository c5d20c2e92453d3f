"""Reading the host's JSON configuration files (config.json, webglue.json): every error names the
file and the key, e.g. "config.json: reload.test_command: must be a list of arguments"."""

from __future__ import annotations

import json

from .errors import ConfigError


def config_error(path: str, where: str, what: str) -> ConfigError:
    return ConfigError("%s: %s: %s" % (path, where, what))


def argv_list(path: str, where: str, value) -> list[str]:
    """A command as an argument list (never a shell string); None is no command."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
        raise config_error(path, where, "must be a list of arguments (no shell string)")
    return list(value)


def load_json_file(path: str) -> object:
    """The JSON document in ``path``; ConfigError when it cannot be read or is not JSON."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError("%s: not valid JSON: %s" % (path, exc)) from None


__all__ = ["config_error", "argv_list", "load_json_file"]
