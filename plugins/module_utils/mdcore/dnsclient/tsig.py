"""TSIG keys (RFC 8945): name, algorithm and secret, from the configuration or from a key file as
BIND's ``tsig-keygen`` / ``ddns-confgen`` and Knot's ``keymgr -t`` write them.

The secret never leaves this object in text: not in repr(), not in any error message.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from ..errors import ConfigError


class TsigAlgorithm:
    HMAC_SHA256 = "hmac-sha256"
    HMAC_SHA384 = "hmac-sha384"
    HMAC_SHA512 = "hmac-sha512"


ALGORITHMS = (TsigAlgorithm.HMAC_SHA256, TsigAlgorithm.HMAC_SHA384, TsigAlgorithm.HMAC_SHA512)
WEAK_ALGORITHMS = ("hmac-md5", "hmac-md5.sig-alg.reg.int", "hmac-sha1", "hmac-sha224")
# A DNS name as key names are written (dots, letters, digits, '-', '_'), without the final dot.
KEY_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*$")


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str
    secret: bytes = field(repr=False)

    def __repr__(self) -> str:  # the secret must never show up in logs or tracebacks
        return "TsigKey(name=%r, algorithm=%r)" % (self.name, self.algorithm)

    __str__ = __repr__


def check_algorithm(algorithm: object, where: str) -> str:
    value = str(algorithm or "").strip().lower().rstrip(".")
    if value in ALGORITHMS:
        return value
    if value in WEAK_ALGORITHMS:
        raise ConfigError("%s: TSIG algorithm %s is too weak; use %s" % (where, value, " or ".join(ALGORITHMS)))
    raise ConfigError("%s: unknown TSIG algorithm %r (%s)" % (where, algorithm, ", ".join(ALGORITHMS)))


def check_key_name(name: object, where: str) -> str:
    value = str(name or "").strip().rstrip(".")
    if not KEY_NAME_RE.match(value):
        raise ConfigError("%s: %r is not a TSIG key name (a DNS name such as acme-update.example.org)"
                          % (where, name))
    return value.lower()


def decode_secret(secret: object, where: str) -> bytes:
    """The key's bytes from its base64 text; the message never repeats the text."""
    if not isinstance(secret, str) or not secret.strip():
        raise ConfigError("%s: the TSIG secret is empty" % where)
    try:
        raw = base64.b64decode("".join(secret.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("%s: the TSIG secret is not base64 (as tsig-keygen or keymgr -t print it)"
                          % where) from None
    if len(raw) < 16:
        raise ConfigError("%s: the TSIG secret is %d bytes long; use at least 16 (tsig-keygen makes 32)"
                          % (where, len(raw)))
    return raw


def make_key(name: object, algorithm: object, secret: object, where: str) -> TsigKey:
    return TsigKey(check_key_name(name, where), check_algorithm(algorithm, where), decode_secret(secret, where))


# -- key files ---------------------------------------------------------------------------------

# Quoted strings first, so that "//" inside a base64 secret is not taken for a comment.
_STRING_OR_COMMENT = re.compile(r'"[^"]*"|/\*.*?\*/|//[^\n]*|#[^\n]*', re.S)
_BIND_KEY = re.compile(r'\bkey\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', re.S)
_BIND_FIELD = re.compile(r'\b(algorithm|secret)\s+"?([^";\s]+)"?\s*;')
_KNOT_ITEM = re.compile(r"^\s*(?:-\s+)?(id|algorithm|secret)\s*:\s*(\S+)\s*$")


def _bind_keys(text: str) -> list[dict[str, str]]:
    keys = []
    bare = _STRING_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    for match in _BIND_KEY.finditer(bare):
        entry = {"name": match.group(1)}
        entry.update({f.group(1): f.group(2) for f in _BIND_FIELD.finditer(match.group(2))})
        keys.append(entry)
    return keys


def _knot_keys(text: str) -> list[dict[str, str]]:
    # keymgr -t prints a "key:" list of id/algorithm/secret items (YAML as Knot's config reads it).
    keys: list[dict[str, str]] = []
    for line in text.splitlines():
        match = _KNOT_ITEM.match(line.split("#", 1)[0])
        if not match:
            continue
        what, value = match.group(1), match.group(2).strip("'\"")
        if what == "id":
            keys.append({"name": value})
        elif keys:
            keys[-1][what] = value
    return keys


def parse_key_file(text: str, path: str, name: str | None = None) -> TsigKey:
    """The key named ``name`` (or the only key) of a BIND ``key "..." { ... };`` file or of a
    Knot ``key:`` list. Errors name the file and the key names found, never a secret."""
    keys = _bind_keys(text) or _knot_keys(text)
    if not keys:
        raise ConfigError("%s: no TSIG key in the file (expected BIND's key \"name\" { algorithm ...; "
                          "secret \"...\"; }; or Knot's key: list)" % path)
    found = [k["name"].rstrip(".").lower() for k in keys]
    if name:
        wanted = check_key_name(name, path)
        if wanted not in found:
            raise ConfigError("%s: no key named %s (the file holds %s)" % (path, wanted, ", ".join(found)))
        entry = keys[found.index(wanted)]
    elif len(keys) > 1:
        raise ConfigError("%s: the file holds several keys (%s): set key_name" % (path, ", ".join(found)))
    else:
        entry = keys[0]
    where = "%s: key %s" % (path, entry["name"])
    for needed in ("algorithm", "secret"):
        if not entry.get(needed):
            raise ConfigError("%s has no %s" % (where, needed))
    return make_key(entry["name"], entry["algorithm"], entry["secret"], where)


def load_key_file(path: str, name: str | None = None) -> TsigKey:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(65536)
    except OSError as exc:
        raise ConfigError("cannot read the TSIG key file %s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise ConfigError("%s: the TSIG key file is not text" % path) from None
    return parse_key_file(text, path, name)
