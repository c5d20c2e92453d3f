"""A certificate's stapling as status shows it: mdcore.ocsp's persisted StapleState (the staple
book, read once per process through ocsp.bookread) turned into a StapleView."""

from __future__ import annotations

import datetime

from ..errors import StoreError
from ..ocsp.bookread import managed_key, paths_for, state_of, stored_entries
from ..ocsp.config import OTHERS_DIR, StapleTarget
from ..ocsp.state import OcspStatus, StapleState
from ..storeread import StoreReader
from .model import StapleView


def staple_entries(store: StoreReader) -> dict:
    try:
        return stored_entries(store)
    except StoreError:
        return {}  # a broken staple book: no staple facts (the stapling run sets it aside and reports it)


def load_staple(store: StoreReader, md: str | None = None, key_type: str | None = None,
                cert_path: str = "") -> StapleState | None:
    """mdcore.ocsp's persisted StapleState of a managed certificate (md, key_type) or of another
    certificate file (cert_path); None when there is none or it cannot be read. Unlike
    ocsp.bookread.staple_state(), a broken staple book reads as empty instead of raising."""
    try:
        if md and key_type:  # a managed certificate (no StapleTarget made: a status asks for every one)
            key = managed_key(md, key_type)
        else:
            key = paths_for(store, StapleTarget(cert_path=cert_path, md=md, key_type=key_type)).key
    except StoreError:  # an odd key type: nothing stored for it
        return None
    return state_of(staple_entries(store).get(key))


def staple_view(state: StapleState | None, cert_sha256: str | None, now: datetime.datetime) -> StapleView | None:
    if state is None:
        return None
    same = bool(cert_sha256) and state.cert_sha256 == cert_sha256
    if not same:
        return StapleView(OcspStatus.NONE)  # metadata of an older certificate: a new response is due
    if state.status == OcspStatus.NO_RESPONDER:
        return StapleView(OcspStatus.NO_RESPONDER)
    status = state.status
    if state.next_update is not None and state.status in OcspStatus.CERT_STATUSES and not state.valid_at(now):
        status = OcspStatus.EXPIRED
    elif not state.has_response():
        status = OcspStatus.NONE
    return StapleView(status, responder=state.responder, this_update=state.this_update,
                      next_update=state.next_update, refresh_at=state.refresh_at, fetched_at=state.fetched_at,
                      last_success=state.succeeded_at, last_attempt=state.last_attempt, errors=state.errors,
                      last_error=state.last_error, last_error_at=state.last_error_at, next_retry=state.next_retry,
                      revocation_time=state.revocation_time, revocation_reason=state.revocation_reason,
                      renew_required=state.renew_required, new_key_required=state.new_key_required)


def stapling_of(store: StoreReader, now: datetime.datetime, ocsp_url: str | None, cert_sha256: str | None,
                md: str | None = None, key_type: str | None = None, cert_path: str = "") -> StapleView:
    """The view of one certificate's stapling; a certificate without a responder is normal."""
    view = staple_view(load_staple(store, md, key_type, cert_path), cert_sha256, now)
    if view is None:
        return StapleView(OcspStatus.NO_RESPONDER if not ocsp_url else OcspStatus.NONE)
    return view


def discovered_others(store: StoreReader) -> list[str]:
    """Certificate files stapled by mdcore.ocsp (MDStapleOthers): they are monitored too."""
    out = []
    entries = staple_entries(store)
    for key in sorted(entries):
        doc = entries[key]
        if key.startswith(OTHERS_DIR + "/") and isinstance(doc, dict) and isinstance(doc.get("cert_path"), str) \
                and doc["cert_path"]:
            out.append(doc["cert_path"])
    return out


__all__ = ["load_staple", "staple_view", "stapling_of", "discovered_others", "staple_entries"]
