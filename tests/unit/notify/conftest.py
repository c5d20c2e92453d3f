"""Fixtures of the message command tests: a scripted runner (no process) and a notifier on the
unit tests' store and fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mdcore.clock import FakeClock
from mdcore.notify import CommandNotifier
from mdcore.proc import RunOutcome
from mdcore.store import Store

COMMAND = ["/usr/local/bin/md-message", "--from-mdfleet"]


class ScriptedRunner:
    """Records every call; answers from ``outcomes`` (event -> RunOutcome), default success."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str], float]] = []
        self.outcomes: dict[str, RunOutcome] = {}

    def __call__(self, argv: list[str], env: dict[str, str], timeout: float) -> RunOutcome:
        self.calls.append((list(argv), dict(env), timeout))
        return self.outcomes.get(argv[len(COMMAND)], RunOutcome(0))

    def events(self) -> list[tuple[str, str]]:
        return [(argv[-2], argv[-1]) for argv, _env, _t in self.calls]

    def fail(self, event: str, code: int = 1) -> None:
        self.outcomes[event] = RunOutcome(code, error="exit status %d" % code)

    def hang(self, event: str) -> None:
        self.outcomes[event] = RunOutcome(None, True, "timed out after 5s (killed)")


@pytest.fixture
def runner() -> ScriptedRunner:
    return ScriptedRunner()


@pytest.fixture
def notifier_for(runner: ScriptedRunner, clock: FakeClock) -> Callable[..., CommandNotifier]:
    def make(store: Store, command: list[str] | None = None) -> CommandNotifier:
        return CommandNotifier(store, COMMAND if command is None else command, clock, timeout=5,
                               runner=runner, base_env={"PATH": "/usr/bin", "MDFLEET_STALE": "x"})

    return make


@pytest.fixture
def notifier(store: Store, notifier_for) -> CommandNotifier:
    return notifier_for(store)


@pytest.fixture
def synth_like_store(store: Store, clock: FakeClock) -> Store:
    """The unit store with one synthetic managed domain 'a.example' (for status views)."""
    from unit.status.synth import Spec, write_md

    write_md(store.root, clock.now(), Spec("a.example"))
    return store
