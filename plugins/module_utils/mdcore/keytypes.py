"""Private key types (as mod_md's MDPrivateKeys): names, aliases and what status views call them.
Plain data: config checks and status views use it without importing cryptography (keys.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class KeySpec:
    """One key type: ``name`` is what configs and the store use (``rsa2048``, ``p256`` ...)."""

    name: str
    kind: str  # "rsa" or "ec"
    size: int = 0
    curve: str = ""

    @property
    def status_name(self) -> str:
        """The key under which mod_md's md-status lists the certificate ('rsa', 'secp256r1')."""
        if self.kind == "rsa":
            return "rsa" if self.size == 2048 else "rsa%d" % self.size
        return {"p256": "secp256r1", "p384": "secp384r1"}[self.name]


KEY_SPECS = {
    "rsa2048": KeySpec("rsa2048", "rsa", size=2048),
    "rsa3072": KeySpec("rsa3072", "rsa", size=3072),
    "rsa4096": KeySpec("rsa4096", "rsa", size=4096),
    "p256": KeySpec("p256", "ec", curve="secp256r1"),
    "p384": KeySpec("p384", "ec", curve="secp384r1"),
}
ALIASES = {"rsa": "rsa2048", "secp256r1": "p256", "secp384r1": "p384"}  # mod_md's names (MDPrivateKeys)


def key_spec(name: str) -> KeySpec:
    canonical = ALIASES.get(name.lower(), name.lower())
    try:
        return KEY_SPECS[canonical]
    except KeyError:
        raise ConfigError(
            "unknown key type %r (known: %s)" % (name, ", ".join(sorted(KEY_SPECS)))
        ) from None
