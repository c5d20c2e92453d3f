"""Helpers shared by the unit tests (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime
import os

from mdcore.acme.transport import AcmeTransport, TransportOptions
from mdcore.challenges.base import ChallengeTask, Solver
from mdcore.clock import Clock, Deadline
from mdcore.config import CaConfig, MdConfig
from mdcore.events import EventSink
from mdcore.state.certset import CertInfo, CertSet

from .fakeacme import FakeAcme

NOT_BEFORE = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def cert_set(md: str, key_types, names: list[str] | None = None, serial: str = "1A") -> CertSet:
    """A set.json for tests that stage files by hand (placeholder certificate facts)."""
    info = CertInfo(serial=serial, sha256_fingerprint="ab" * 32, not_before=NOT_BEFORE,
                    not_after=NOT_BEFORE + datetime.timedelta(days=90), names=list(names or [md]))
    return CertSet(md=md, names=list(names or [md]), key_types=list(key_types),
                   certs={kt: info for kt in key_types})


class RecordingEvents(EventSink):
    """Remembers every event; answers False for the events listed in ``veto``."""

    def __init__(self, veto: tuple[str, ...] = ()) -> None:
        self.fired: list[tuple[str, str]] = []
        self.veto = set(veto)

    def fire(self, event: str, md: str, details: dict | None = None) -> bool:
        self.fired.append((event, md))
        return event not in self.veto

    def names(self) -> list[str]:
        return [event for event, _md in self.fired]


class FakeNet:
    """Several fake CAs behind one transport factory (for failover); routes by directory URL."""

    def __init__(self, *cas: FakeAcme) -> None:
        self.cas = {ca.directory_url: ca for ca in cas}

    def transport(self, ca: CaConfig, cfg: MdConfig, clock: Clock) -> AcmeTransport:
        fake = self.cas[ca.url]
        opts = TransportOptions(
            verify=ca.ca_bundle or True, proxy=cfg.proxy, request_timeout=cfg.request_timeout
        )
        return AcmeTransport(ca.url, clock, opts, http=fake.http())

    def total(self) -> int:
        return sum(len(ca.seen) for ca in self.cas.values())


def tree(root: str) -> dict[str, tuple[int, bytes | str | None]]:
    """Every path under ``root`` with its mode and content (or link target): to prove nothing changed."""
    out: dict[str, tuple[int, bytes | str | None]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if os.path.islink(path):
                out[rel] = (st.st_mode, os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    out[rel] = (st.st_mode, handle.read())
            else:
                out[rel] = (st.st_mode, None)
    return out


class RecordingSolver(Solver):
    """A solver that only remembers what it was asked (the fake CA accepts unless told otherwise)."""

    def __init__(self, challenge_type: str) -> None:
        self.challenge_type = challenge_type
        self.calls: list[tuple[str, str]] = []

    def setup(self, task: ChallengeTask) -> None:
        self.calls.append(("setup", task.domain))

    def teardown(self, task: ChallengeTask) -> None:
        self.calls.append(("teardown", task.domain))

    def ready(self, deadline: Deadline | None = None) -> None:
        self.calls.append(("ready", ""))
