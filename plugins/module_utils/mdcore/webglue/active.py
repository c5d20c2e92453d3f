"""The store's active certificates as the glue sees them: per managed domain its key types, each
with the set's file paths and the serial set.json recorded at activation."""

from __future__ import annotations

from dataclasses import dataclass

from ..store import ActiveCert, Store


@dataclass(frozen=True)
class ServedCert:
    cert: ActiveCert
    serial: int | None  # from set.json (hex there); None when the set does not say


def _serial(set_info: dict, key_type: str) -> int | None:
    facts = (set_info.get("certs") or {}).get(key_type) or {}
    try:
        return int(str(facts.get("serial")), 16)
    except ValueError:
        return None


def active_sets(store: Store) -> dict[str, list[ServedCert]]:
    """{md: [ServedCert per key type]} of every active set, in the store's order."""
    out: dict[str, list[ServedCert]] = {}
    for md in store.managed_names():
        info = store.active_set(md) or {}
        certs = [c for c in store.active_certs(md) if isinstance(c.key_type, str) and "/" not in c.key_type]
        out[md] = [ServedCert(c, _serial(info, c.key_type)) for c in certs]
    return out


__all__ = ["ServedCert", "active_sets"]
