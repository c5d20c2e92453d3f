"""mod_md's MDMessageCmd: run a configured command for events, as an argument list (never
through a shell): ``<command...> <event> <md-name>``, details in MDFLEET_* environment variables.

Rate limits as mod_md: errored and ocsp-errored at most once an hour, renewed, installed,
expiring and ocsp-renewed at most once a day, per domain, except for events of an emergency (details
``urgent``: a revoked certificate replaced); renewing and challenge-setup always
run (they are hooks: a non-zero exit of 'renewing' postpones the renewal). 'renewed' is kept
pending and retried on later runs until the command succeeds. A command that fails, cannot be
started or hangs (killed, with its process group, after ``timeout``) is recorded in
<store>/events/<md>.json, which status shows; it never raises into the renewal.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Clock, to_iso
from ..errors import MdError
from ..events import URGENT, EventName, EventSink
from ..proc import RunOutcome, run_command
from ..store import CERT_FILE, FULLCHAIN_FILE, KEY_FILE, Store
from ..timefmt import unix
from .state import Attempt, NotifyState, PendingEvent, all_states

HOUR, DAY = 3600.0, 86400.0
RATE_LIMITS = {EventName.ERRORED: HOUR, EventName.OCSP_ERRORED: HOUR, EventName.RENEWED: DAY,
               EventName.INSTALLED: DAY, EventName.EXPIRING: DAY, EventName.OCSP_RENEWED: DAY}
RETRIED_UNTIL_DELIVERED = (EventName.RENEWED,)
ENV_PREFIX = "MDFLEET_"


Runner = Callable[[list, dict, float], RunOutcome]


@dataclass
class Delivery:
    """One event as this run handled it."""

    event: str
    md: str
    argv: list[str]
    ran: bool
    ok: bool
    exit_code: int | None = None
    timed_out: bool = False
    error: str | None = None
    suppressed: bool = False  # rate-limited: the command was not run
    retry: bool = False  # a pending event delivered again
    output: str = ""  # the command's output (tail): for the caller's log, never stored


def _env_name(key: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Z0-9_]", "_", key.upper())


def _env_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        text = " ".join(str(v) for v in value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text.replace("\0", "")


class CommandNotifier(EventSink):
    """The EventSink the manager, stapling and the expiring check fire into.

    ``command``: the argument list (empty: events are accepted and nothing runs). Thread-safe:
    orders of several domains fire from a thread pool. ``deliveries`` lists what this run did."""

    def __init__(self, store: Store, command: list[str], clock: Clock, timeout: float = 30.0,
                 runner: Runner = run_command, base_env: dict[str, str] | None = None) -> None:
        self.store = store
        self.command = list(command or [])
        self.clock = clock
        self.timeout = timeout
        self.runner = runner
        self.base_env = dict(os.environ if base_env is None else base_env)
        for key in [k for k in self.base_env if k.startswith(ENV_PREFIX)]:
            del self.base_env[key]  # only what this event says
        self.deliveries: list[Delivery] = []
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- EventSink ----------------------------------------------------------------------------
    def fire(self, event: str, md: str, details: dict | None = None) -> bool:
        """Run the command for ``event``; False only when 'renewing' was vetoed (non-zero exit).
        Never raises: the renewal must not depend on the message command."""
        if not self.command:
            return True
        try:
            with self._lock(md):
                return self._fire(event, md, details or {})
        except (OSError, ValueError, MdError) as exc:  # the events file: report, never break a renewal
            failed = Delivery(event, md, [], False, False, error="event bookkeeping failed: %s" % exc)
            self.deliveries.append(failed)
            return True

    def retry_pending(self) -> list[Delivery]:
        """Deliver events that must arrive ('renewed') and failed before; call once per run."""
        done: list[Delivery] = []
        if not self.command:
            return done
        for state in all_states(self.store):
            if not state.pending:
                continue
            with self._lock(state.md):
                state = NotifyState.load(self.store, state.md, repair=True)
                keep: list[PendingEvent] = []
                for pending in state.pending:
                    delivery = self._run(state, pending.event, pending.details, retry=True)
                    done.append(delivery)
                    if not delivery.ok:
                        pending.attempts += 1
                        keep.append(pending)
                state.pending = keep
                state.save(self.store)
        return done

    # -- internals ----------------------------------------------------------------------------
    def _lock(self, md: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(md, threading.Lock())

    def _fire(self, event: str, md: str, details: dict) -> bool:
        base = event.split(":", 1)[0]
        state = NotifyState.load(self.store, md, repair=True)
        now = self.clock.now()
        limit = RATE_LIMITS.get(base)
        last = state.last_attempt.get(base)
        if limit and last is not None and (now - last).total_seconds() < limit and not details.get(URGENT):
            state.suppressed[base] = state.suppressed.get(base, 0) + 1
            state.save(self.store)
            self.deliveries.append(Delivery(event, md, self._argv(event, md), False, True, suppressed=True))
            return True
        delivery = self._run(state, event, details)
        if base in RETRIED_UNTIL_DELIVERED:
            state.pending = [p for p in state.pending if p.event != event]
            if not delivery.ok:
                state.pending.append(PendingEvent(event, now, _storable(details), 1))
        state.save(self.store)
        return not (base == EventName.RENEWING and delivery.ran and delivery.exit_code not in (0, None))

    def _argv(self, event: str, md: str) -> list[str]:
        return self.command + [event, md]

    def _run(self, state: NotifyState, event: str, details: dict, retry: bool = False) -> Delivery:
        """Run the command once and record the outcome in ``state`` (the caller saves it)."""
        md = state.md
        base = event.split(":", 1)[0]
        argv = self._argv(event, md)
        outcome = self.runner(argv, self._env(event, md, details), self.timeout)
        now = self.clock.now()
        ok = outcome.error is None
        ran = outcome.exit_code is not None or outcome.timed_out
        delivery = Delivery(event, md, argv, ran, ok, outcome.exit_code, outcome.timed_out, outcome.error,
                            retry=retry, output=outcome.output)
        state.last_attempt[base] = now
        if ok:
            state.last_success[base] = now
            state.failures = 0
            state.suppressed.pop(base, None)
        else:
            attempt = Attempt(event, now, False, outcome.exit_code, outcome.timed_out, outcome.error)
            if base == EventName.RENEWING and outcome.exit_code not in (0, None):
                attempt.error = "renewal postponed: %s" % outcome.error
                state.last_postponed = attempt  # a veto is a decision, not a failure
            else:
                state.failures += 1
                state.last_failure = attempt
        self.deliveries.append(delivery)
        return delivery

    def _env(self, event: str, md: str, details: dict) -> dict[str, str]:
        env = dict(self.base_env)
        facts: dict[str, object] = {"event": event, "md": md, "store": self.store.root}
        if event.startswith(EventName.CHALLENGE_SETUP + ":"):
            parts = event.split(":", 2)
            if len(parts) == 3:
                facts["challenge_type"], facts["challenge_domain"] = parts[1], parts[2]
        facts.update(self._cert_facts(md))
        for key, value in details.items():
            if isinstance(key, str) and key:
                facts.setdefault(key, value)
                if key in ("error", "status"):
                    facts[key] = value
        if isinstance(details.get("reasons"), list):  # sentences: '; ' between them
            facts["reasons"] = "; ".join(str(r) for r in details["reasons"])
        for key, value in facts.items():
            text = _env_value(value)
            if text is not None:
                env[_env_name(key)] = text
        return env

    def _cert_facts(self, md: str) -> dict[str, object]:
        """Paths, serials and expiry of the active set (or of a monitored file named by path)."""
        if md.startswith("/"):
            return {"cert_paths": md}
        try:
            info = self.store.active_set(md)
        except MdError:  # a set.json that does not read: the event goes out without its facts
            return {}
        if info is None:
            return {}
        key_types = list(info.key_types)
        base = self.store.active_dir(md)
        out: dict[str, object] = {
            "domains": list(info.names), "key_types": key_types,
            "cert_paths": ":".join(os.path.join(base, kt, CERT_FILE) for kt in key_types),
            "fullchain_paths": ":".join(os.path.join(base, kt, FULLCHAIN_FILE) for kt in key_types),
            "key_paths": ":".join(os.path.join(base, kt, KEY_FILE) for kt in key_types),
            "serial": [info.certs[kt].serial for kt in key_types],
        }
        first = min(info.certs.values(), key=lambda c: c.not_after)
        out["not_after"] = to_iso(first.not_after)
        out["not_after_unix"] = unix(first.not_after)
        return out


def _storable(details: dict) -> dict:
    """Details kept for a retry: JSON-safe (they are plain facts: serials, reasons, errors)."""
    try:
        return json.loads(json.dumps(details, default=str))
    except (TypeError, ValueError):
        return {}


__all__ = ["CommandNotifier", "Delivery", "RATE_LIMITS"]
