"""The store's active certificates as the glue sees them: per managed domain its key types, each
with the set's file paths and the serial set.json recorded at activation."""

from __future__ import annotations

from dataclasses import dataclass

from ..state.certset import CertSet
from ..state.fields import CorruptStateError, NewerStateError
from ..store import ActiveCert, Store


@dataclass(frozen=True)
class ServedCert:
    cert: ActiveCert
    serial: int | None  # from set.json (hex there); None when the set does not say


def _serial(set_info: CertSet, key_type: str) -> int | None:
    facts = set_info.cert(key_type)
    try:
        return int(facts.serial, 16) if facts else None
    except ValueError:
        return None


def active_sets(store: Store) -> dict[str, list[ServedCert]]:
    """{md: [ServedCert per key type]} of every active set, in the store's order (a set.json that
    does not read is left out: the engine's run reports it)."""
    out: dict[str, list[ServedCert]] = {}
    for md in store.managed_names():
        try:
            info = store.active_set(md)
        except (CorruptStateError, NewerStateError):
            continue
        if info is None:
            continue
        out[md] = [ServedCert(c, _serial(info, c.key_type)) for c in store.active_certs(md)]
    return out


__all__ = ["ServedCert", "active_sets"]
