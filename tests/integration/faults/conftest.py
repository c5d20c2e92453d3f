"""The fault suite's figures: every test adds what it did (kills, runs, cases) and what went wrong
(inconsistent stores, wasted orders, tracebacks) to one record, and `make faults` prints it at the
end of the run as one summary, also when a test failed (then its figures say where)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Totals summed over every test: the "0" figures.
TOTALS = ("inconsistent stores", "wasted orders", "tracebacks")


class Figures:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.totals = dict.fromkeys(TOTALS, 0)
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


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    yield _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES.lines:
        return
    terminalreporter.section("fault suite figures")
    for line in _FIGURES.summary():
        terminalreporter.write_line(line)
