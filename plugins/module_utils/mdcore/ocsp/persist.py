"""Where staples live in the store, reading and writing them, and pruning old ones.

  ocsp/<md>/<key_type>.json   metadata (:class:`StapleState`), including the response as base64
  ocsp/<md>/<key_type>.der    the response itself (nginx ssl_stapling_file can point here)
  ocsp/_others/<id>/response.{json,der}   certificates not managed by the store (MDStapleOthers)

The JSON is written first and is the truth: one atomic write replaces response and metadata
together, and a .der that differs from it (a crash between the two writes) is rewritten.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
from dataclasses import dataclass

from ..clock import to_iso
from ..errors import OcspError, StoreError
from ..fsutil import (
    PRIVATE_MODE,
    PUBLIC_MODE,
    TEMP_PREFIX,
    atomic_write,
    ensure_dir,
    read_json,
    write_if_changed,
)
from ..store import Store
from .config import OTHERS_DIR, StapleTarget
from .state import StapleState, parse_time

OTHERS_STEM = "response"


@dataclass(frozen=True)
class StaplePaths:
    folder: str
    json: str
    der: str


def paths_for(store: Store, target: StapleTarget) -> StaplePaths:
    if target.managed:
        folder = store.ocsp_dir(target.md)
        stem = target.key_type
        if "/" in stem or stem.startswith("."):
            raise StoreError("invalid key type %r" % stem)
    else:
        folder = store.path("ocsp", OTHERS_DIR, target.others_id)
        stem = OTHERS_STEM
    return StaplePaths(folder, os.path.join(folder, stem + ".json"), os.path.join(folder, stem + ".der"))


def load_state(paths: StaplePaths) -> StapleState | None:
    try:
        data = read_json(paths.json)
    except (OSError, ValueError):
        return None  # unreadable metadata: treated as nothing stored, refetched and rewritten
    if not isinstance(data, dict):
        return None
    try:
        return StapleState.from_json(data)
    except (TypeError, ValueError):
        return None


def response_der(state: StapleState | None) -> bytes | None:
    if state is None or not state.response:
        return None
    try:
        return base64.b64decode(state.response)
    except ValueError:
        return None


def save_state(paths: StaplePaths, state: StapleState, written: list | None = None) -> None:
    """Write the metadata (atomically). With ``written``, without fsync: the path is appended and
    the caller flushes everything at the end (fsutil.sync_filesystems)."""
    try:
        ensure_dir(paths.folder)
        # one line, C encoder (indent= falls back to the pure-Python one): `jq .` reads it nicely
        data = (json.dumps(state.to_json(), sort_keys=True) + "\n").encode()
        atomic_write(paths.json, data, PRIVATE_MODE, durable=written is None)
        if written is not None:
            written.append(paths.json)
    except OSError as exc:
        raise OcspError("cannot write %s: %s" % (paths.json, exc.strerror or exc)) from None


def sync_der(paths: StaplePaths, state: StapleState, written: list | None = None) -> bool:
    """Make the .der match the stored response; returns whether it was (re)written."""
    der = response_der(state)
    if der is None:
        return False
    try:
        if not write_if_changed(paths.der, der, PUBLIC_MODE, durable=written is None):
            return False
        if written is not None:
            written.append(paths.der)
        return True
    except OSError as exc:
        raise OcspError("cannot write %s: %s" % (paths.der, exc.strerror or exc)) from None


def staple_state(store: Store, md: str, key_type: str) -> StapleState | None:
    """The persisted stapling metadata of one managed certificate (for status views), or None."""
    return load_state(paths_for(store, StapleTarget(cert_path="", md=md, key_type=key_type)))


def staple_state_of_file(store: Store, cert_path: str) -> StapleState | None:
    """The persisted stapling metadata of an 'other' certificate file (MDStapleOthers), or None."""
    return load_state(paths_for(store, StapleTarget(cert_path=cert_path)))


def _older(moment: datetime.datetime | None, now: datetime.datetime, keep: datetime.timedelta) -> bool:
    return moment is None or moment + keep < now


PRUNE_STAMP = ".pruned"  # ocsp/.pruned: when prune last ran (pruning reads every staple's JSON)
PRUNE_EVERY = datetime.timedelta(hours=1)


def prune_now_and_then(store: Store, now: datetime.datetime, keep_seconds: float) -> list[str]:
    """:func:`prune`, at most once per hour (a run with nothing due stays cheap)."""
    stamp = store.path("ocsp", PRUNE_STAMP)
    try:
        with open(stamp, encoding="ascii") as handle:
            last = parse_time(handle.read().strip())
    except (OSError, ValueError):
        last = None
    if last is not None and last <= now < last + PRUNE_EVERY:
        return []
    removed = prune(store, now, keep_seconds)
    try:
        atomic_write(stamp, (to_iso(now) + "\n").encode(), PRIVATE_MODE)
    except OSError:
        pass  # pruning again next time is harmless
    return removed


def prune(store: Store, now: datetime.datetime, keep_seconds: float) -> list[str]:
    """Remove staples whose response expired more than ``keep_seconds`` ago (and that nothing
    refreshed since) and folders of domains no longer managed once their staples are that old.
    A response that is still valid is never removed. Returns the removed paths."""
    keep = datetime.timedelta(seconds=keep_seconds)
    root = store.path("ocsp")
    removed: list[str] = []
    managed = set(store.managed_names())
    try:
        folders = sorted(os.listdir(root))
    except FileNotFoundError:
        return removed
    for name in folders:
        if name.startswith("."):
            continue
        if name == OTHERS_DIR:
            for sub in sorted(os.listdir(os.path.join(root, name))):
                removed += _prune_folder(os.path.join(root, name, sub), now, keep, drop_empty=True)
        else:
            removed += _prune_folder(os.path.join(root, name), now, keep, drop_empty=name not in managed)
    return removed


def _prune_folder(folder: str, now: datetime.datetime, keep: datetime.timedelta,
                  drop_empty: bool) -> list[str]:
    removed = []
    if not os.path.isdir(folder):
        return removed
    for entry in sorted(os.listdir(folder)):
        if not entry.endswith(".json"):
            continue
        stem = os.path.join(folder, entry[: -len(".json")])
        paths = StaplePaths(folder, stem + ".json", stem + ".der")
        state = load_state(paths)
        if state is None:
            continue  # unreadable: the next refresh rewrites it
        if state.next_update is not None and not _older(state.next_update, now, keep):
            continue  # valid, or expired less than `keep` ago
        if not _older(state.last_attempt or state.fetched_at, now, keep):
            if not state.response:
                continue
            # still being retried: keep the error bookkeeping, drop the long-expired response
            state.response = state.response_sha256 = None
            save_state(paths, state)
            doomed = [paths.der]
        else:
            doomed = [paths.json, paths.der]  # nobody asked for a long time: forget it
        for path in doomed:
            if os.path.exists(path):
                os.unlink(path)
                removed.append(path)
    if drop_empty and not [e for e in os.listdir(folder) if not e.startswith(TEMP_PREFIX)]:
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


__all__ = ["StaplePaths", "paths_for", "load_state", "save_state", "sync_der", "response_der",
           "staple_state", "staple_state_of_file", "prune", "prune_now_and_then"]
