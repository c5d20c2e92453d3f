"""Status pages as templates (status/page.py): a page made at one time and filled at a later one
is, byte for byte, the page a run at that later time makes from the same files, as long as the
status memo would answer every domain (the quiet replay, quiet.py, writes exactly such pages)."""

from __future__ import annotations

import datetime

import pytest

from mdcore.status import build_status
from mdcore.status.html_view import html_page, render_html
from mdcore.status.json_view import KeyNames, report_text
from mdcore.status.memo import StatusMemo
from mdcore.status.page import EXPIRES_IN, HTTP_NOW, REL, UNIX_NOW, at, fill
from mdcore.status.prom_view import prometheus_page, render_prometheus
from mdcore.status.writer import report_page

from .synth import Spec, fleet_mix
from .test_memo import with_file_hashes


@pytest.fixture
def healthy(synth, clock):
    specs = [s for i, s in enumerate(fleet_mix(30)) if i % 20 not in (1, 2, 3, 5, 6)]  # the healthy ones
    specs.append(Spec("fresh.example.org", age=datetime.timedelta(minutes=3)))  # "3 minutes ago" changes soon
    store = synth(*specs)
    with_file_hashes(store)
    clock.advance(1000)
    return store


def pages_at(store, clock) -> tuple[dict, StatusMemo]:
    with store.lock(5):
        memo = StatusMemo.load(store, True, KeyNames.MDFLEET)
        report = build_status(store, clock, memo=memo)
        pages = {"json": report_page(report, KeyNames.MDFLEET), "html": html_page(report),
                 "prom": prometheus_page(report)}
        rendered = {"json": report_text(report, KeyNames.MDFLEET), "html": render_html(report),
                    "prom": render_prometheus(report)}
        memo.save()
    for view, page in pages.items():  # the page filled at its own time is the rendering
        assert fill(page, report.generated) == rendered[view], view
    return pages, memo


def test_a_page_filled_later_is_the_page_made_later(healthy, clock):
    pages_at(healthy, clock)  # the memo learns every domain
    pages, memo = pages_at(healthy, clock)
    names = healthy.managed_names()
    assert memo.covers(names)
    horizon = min(entry[2] for entry in memo._new.values())
    start = clock.now()
    for seconds in (1, 59, 61, 3599, 3601, 86399, 86401, 7 * 86400):
        later = start + datetime.timedelta(seconds=seconds)
        if later.timestamp() >= horizon:
            assert seconds > 3601  # the hour-old relative times were filled again, not frozen
            break
        clock.advance((later - clock.now()).total_seconds())
        made, _memo = pages_at(healthy, clock)
        report = build_status(healthy, clock, memo=StatusMemo.load(healthy, True, KeyNames.MDFLEET))
        assert fill(pages["json"], later) == report_text(report, KeyNames.MDFLEET), seconds
        assert fill(pages["html"], later) == render_html(report), seconds
        assert fill(pages["prom"], later) == render_prometheus(report), seconds
    else:
        pytest.fail("the memo's horizon lies beyond a week: the test did not reach it")


def test_the_open_parts_are_the_times_alone(healthy, clock):
    pages, _memo = pages_at(healthy, clock)
    kinds = {view: {part[0] for part in page if part.__class__ is not str} for view, page in pages.items()}
    assert kinds["json"] == {HTTP_NOW, UNIX_NOW}
    assert kinds["html"] == {HTTP_NOW, REL}
    assert EXPIRES_IN in kinds["prom"] and UNIX_NOW in kinds["prom"] and REL not in kinds["prom"]
    assert all("\x00" not in part for page in pages.values() for part in page if part.__class__ is str)


def test_a_slot_of_another_kind_is_refused():
    with pytest.raises(ValueError):
        fill(["a", (99, 1.0)], at(0))
