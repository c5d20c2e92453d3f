"""The fault suite's figures: every test adds what it did (kills, runs, cases) and what went wrong
(inconsistent stores, wasted orders, tracebacks) to one record, and `make faults` prints it at the
end of the run as one summary, also when a test failed (then its figures say where)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Totals summed over every test: the "0" figures.
TOTALS = ("inconsistent stores", "wasted orders", "tracebacks")


class Figures:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.totals: dict[str, int] = {name: 0 for name in TOTALS}
        self.runs = 0

    def add(self, line: str, *, runs: int = 0, inconsistent: int = 0, wasted: int = 0, tracebacks: int = 0) -> None:
        """``line``: what one test did, in words and figures; the counts go into the totals."""
        self.lines.append(line)
        self.runs += runs
        for name, value in zip(TOTALS, (inconsistent, wasted, tracebacks), strict=True):
            self.totals[name] += value

    def summary(self) -> list[str]:
        totals = ", ".join("%d %s" % (value, name) for name, value in self.totals.items())
        return ["faults: %s" % line for line in self.lines] + \
            ["faults: all: %d mdfleet runs, %s" % (self.runs, totals)]


_FIGURES = Figures()
# Stores of the fault tests live on a tmpfs where there is one: a SIGKILL (unlike a power cut)
# leaves the page cache as it is, so fsync proves nothing here, and on a shared disk it cost
# 10+ ms a write (a renewal writes ~40 times). The disk-full test mounts a tmpfs of its own.
SHM = "/dev/shm"
SHM_NEEDED = 512 * 1024 * 1024


def _work_base() -> str | None:
    try:
        st = os.statvfs(SHM)
    except OSError:
        return None
    return SHM if st.f_bavail * st.f_frsize >= SHM_NEEDED and os.access(SHM, os.W_OK) else None


@pytest.fixture(scope="session")
def pebble_validating(pebble_factory):
    """Pebble that reuses an authorization only 1 time in 100 (the least PEBBLE_AUTHZREUSE allows): orders
    nearly always answer their challenge (a kill can land in the validation, renewals take alike long)."""
    return pebble_factory(env={"PEBBLE_AUTHZREUSE": "0"})


@pytest.fixture(scope="session")
def work_factory(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator:
    """make(name) -> a fresh folder for stores (on the tmpfs when there is one, else under pytest's
    tmp); the tmpfs ones are removed at the end unless a test failed (their path is printed)."""
    base = _work_base()
    made: list[Path] = []

    def make(name: str) -> Path:
        if base is None:
            return tmp_path_factory.mktemp(name)
        made.append(Path(tempfile.mkdtemp(prefix="mdfleet-faults-%s-" % name, dir=base)))
        return made[-1]

    yield make
    for folder in made:
        if request.session.testsfailed:
            print("fault suite: kept %s" % folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def work(work_factory, request: pytest.FixtureRequest) -> Path:
    """tmp_path for stores (see work_factory)."""
    return work_factory(request.node.name[:30])


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    yield _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    """The figures at the end of the run; also into $MDFLEET_FAULT_SUMMARY (`make faults` sets it,
    .ci/run prints it in its own summary)."""
    if not _FIGURES.lines:
        return
    terminalreporter.section("fault suite figures")
    for line in _FIGURES.summary():
        terminalreporter.write_line(line)
    target = os.environ.get("MDFLEET_FAULT_SUMMARY")
    if target:
        Path(target).write_text("".join(line + "\n" for line in _FIGURES.summary()))
