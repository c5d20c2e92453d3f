"""The host status page and the fleet report in a real headless Chromium: what a person sees —
both tables, the colours, the urgent rows first — plus screenshots in tests/output/screenshots/."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from unit.status.synth import DAY, Spec, make_store

from mdcore.clock import FakeClock
from mdcore.ocsp.state import OcspStatus
from mdcore.status import build_status, report_json, write_status_files
from mdcore.status.fleet import build_fleet_report, fleet_json, render_fleet_html
from mdcore.status.palette import HEALTH_COLOURS, STAPLE_COLOURS, rgb
from mdcore.status.writer import INDEX_HTML
from mdcore.store import Store

from .browser import Chromium, Dom, colour_runs, measure_layout
from .pngread import read_png

HEADER = (0x26, 0x32, 0x38)
BORDER_X = 19  # inside the 6px coloured left edge of each row (body margin 16px)


@pytest.fixture
def chromium(tmp_path) -> Chromium:
    return Chromium(tmp_path / "chromium-profile")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc))


def host_specs() -> list[Spec]:
    return [Spec("shop.example.org", key_types=["p256", "rsa2048"]), Spec("www.example.org", age=30 * DAY),
            Spec("api.example.org", age=70 * DAY), Spec("old.example.org", age=84 * DAY),
            Spec("broken.example.org", age=40 * DAY, errors=5),
            Spec("dead.example.org", age=93 * DAY, ocsp_expired=True),
            Spec("new.example.org", issued=False, order_pending=True),
            Spec("le.example.org", ocsp=OcspStatus.NO_RESPONDER), Spec("flaky.example.org", ocsp_errors=3),
            Spec("revoked.example.org", ocsp=OcspStatus.REVOKED)]


def test_host_page(chromium, tmp_path, clock):
    store = Store(make_store(str(tmp_path / "store"), clock.now(), host_specs()), clock)
    write_status_files(store, build_status(store, clock))
    page = Path(store.status_dir()) / INDEX_HTML
    dom = Dom(chromium.dump_dom(page))
    certs = dom.tables["certificates"]
    assert [r["data-md"] for r in certs][:1] == ["dead.example.org"]
    assert [r["data-health"] for r in certs] == [
        "expired", "error", "error", "incomplete", "expiring", "renewing", "ok", "ok", "ok", "ok"]
    assert {r["data-md"] for r in certs[1:3]} == {"broken.example.org", "revoked.example.org"}
    assert "renewal failed 5 times" in next(r for r in certs if r["data-md"] == "broken.example.org")["text"]
    staples = dom.tables["stapling"]
    assert [r["data-staple"] for r in staples[:3]] == ["error", "error", "warning"]
    le = next(r for r in staples if r["data-md"] == "le.example.org")
    assert "nothing to staple (normal)" in le["text"]
    visible = dom.visible()
    assert "Certificates" in visible and "Stapling" in visible and "expired 3 days ago" in visible
    shot = chromium.screenshot(page, "host-status.png", 1400, 2200)
    png = read_png(str(shot))
    palette = {"header": HEADER, **{h: rgb(c[0]) for h, c in HEALTH_COLOURS.items()}}
    runs = colour_runs(png.column(BORDER_X), palette)
    runs = runs[runs.index("header"):]  # above the table: the summary badges
    second_header = runs.index("header", 1)
    assert runs[1:second_header] == ["expired", "error", "incomplete", "expiring", "renewing", "ok"], runs
    staple_palette = {"header": HEADER, **{h: rgb(c[0]) for h, c in STAPLE_COLOURS.items()}}
    staple_runs = colour_runs(png.column(BORDER_X), staple_palette)
    first = staple_runs.index("header")
    staple_runs = staple_runs[staple_runs.index("header", first + 1) + 1:]
    assert staple_runs[:4] == ["error", "warning", "none", "ok"], staple_runs
    # the rows are tinted, not only their edges: every health's background is on screen
    for health in ("expired", "error", "expiring", "renewing", "ok"):
        light = rgb(HEALTH_COLOURS[health][1])
        assert sum(1 for x in range(40, 600, 7) for y in range(0, png.height, 5)
                   if png.pixel(x, y) == light) > 50, health


def test_fleet_report(chromium, tmp_path, clock):
    facts = {}
    for host, specs in (("web1.example.net", host_specs()[:4]), ("web2.example.net", host_specs()[4:]),
                        ("web3.example.net", [Spec("calm.example.org", age=5 * DAY)])):
        root = make_store(str(tmp_path / host), clock.now(), specs)
        facts[host] = report_json(build_status(Store(root, clock), clock))
    facts["web4.example.net"] = None  # unreachable
    report = build_fleet_report(facts, clock.now())
    page = tmp_path / "fleet-status.html"
    page.write_text(render_fleet_html(report))
    (tmp_path / "fleet-status.json").write_text(json.dumps(fleet_json(report)))
    dom = Dom(chromium.dump_dom(page))
    rows = dom.tables["fleet"]
    assert [(r["data-host"], r["data-md"]) for r in rows[:1]] == [("web2.example.net", "dead.example.org")]
    assert [r["data-health"] for r in rows] == [
        "expired", "error", "error", "unreachable", "incomplete", "expiring", "renewing",
        "ok", "ok", "ok", "ok", "ok"]
    assert "no md_status from this host" in rows[3]["text"]
    bars = [r for r in dom.tables["timeline"] if r.get("class", "").startswith("t-")]
    assert {b["class"] for b in bars} >= {"t-expired", "t-ok", "t-expiring"}
    visible = dom.visible()
    assert "Expiry timeline" in visible and "4 hosts, 1 unreachable" in visible
    shot = chromium.screenshot(page, "fleet-report.png", 1400, 1300)
    png = read_png(str(shot))
    palette = {"header": HEADER, **{h: rgb(c[0]) for h, c in HEALTH_COLOURS.items()}}
    runs = colour_runs(png.column(BORDER_X), palette)
    table = runs[runs.index("header") + 1:]
    assert table == ["expired", "error", "unreachable", "incomplete", "expiring", "renewing", "ok"], runs
    for health in ("expired", "error", "expiring", "renewing", "ok"):  # the timeline's bars
        assert png.count(rgb(HEALTH_COLOURS[health][0])) > 40, health


@pytest.mark.parametrize("width", [1280, 1024])
def test_host_page_fits_a_laptop_screen(chromium, tmp_path, clock, width):
    """Below ~1400 px the CA and Renewal columns, where the errors are, went off-screen."""
    specs = host_specs() + [Spec("long-error.example.org", age=40 * DAY, errors=2,
                                 names=["a-very-long-subdomain-name-of-the-shop.example.org",
                                        "another-long-name-for-the-same-site.example.org"])]
    store = Store(make_store(str(tmp_path / "store"), clock.now(), specs), clock)
    # what real errors look like: long unbreakable URLs (the synthetic ones are short)
    job_path = Path(store.job_path("long-error.example.org"))
    job = json.loads(job_path.read_text())
    job["last_error"]["message"] = (
        "CA refused validation of a-very-long-subdomain-name-of-the-shop.example.org: unauthorized: Non-200 "
        "status code from HTTP: http://a-very-long-subdomain-name-of-the-shop.example.org/.well-known/"
        "acme-challenge/2bRfOCrYG8lcAo0eVBLqEk8JUHZC73Add_CXjN3Xg_s returned 404")
    job["config"]["cas"] = ["https://acme-staging-v02.api.letsencrypt.org/directory"]
    job_path.write_text(json.dumps(job))
    set_path = Path(store.active_dir("long-error.example.org")) / "set.json"
    doc = json.loads(set_path.read_text())
    doc["ca_url"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
    set_path.write_text(json.dumps(doc))
    write_status_files(store, build_status(store, clock))
    layout = measure_layout(chromium, Path(store.status_dir()) / INDEX_HTML, width)
    assert layout["scroll"] <= layout["viewport"], layout
    for table, box in layout["tables"].items():
        assert box["cells_right"] <= layout["viewport"], (table, layout)


def _shared(host: str, age) -> Spec:
    here = host == "web1.example.net"
    return Spec("shop.example.org", key_types=["p256", "rsa2048"], age=age,
                fleet={"issuer": "web1.example.net", "issued_here": here,
                       "members": ["web1.example.net", "web2.example.net", "web3.example.net"]},
                imported_from=None if here else "web1.example.net")


def test_fleet_report_shows_drift_first(chromium, tmp_path, clock):
    """A member on an older serial of a shared certificate is drift: ranked and coloured before
    what is merely expiring, and the shared table names it."""
    facts = {}
    for host, specs in (("web1.example.net", [_shared("web1.example.net", 2 * DAY)]),
                        ("web2.example.net", [_shared("web2.example.net", 2 * DAY)]),
                        ("web3.example.net", [_shared("web3.example.net", 40 * DAY),
                                              Spec("old.example.org", age=84 * DAY)])):
        root = make_store(str(tmp_path / host), clock.now(), specs)
        facts[host] = report_json(build_status(Store(root, clock), clock))
    page = tmp_path / "fleet-drift.html"
    page.write_text(render_fleet_html(build_fleet_report(facts, clock.now())))
    dom = Dom(chromium.dump_dom(page))
    rows = dom.tables["fleet"]
    assert [(r["data-host"], r["data-health"]) for r in rows] == [
        ("web3.example.net", "drift"), ("web3.example.net", "expiring"), ("web1.example.net", "ok"),
        ("web2.example.net", "ok")]
    assert "its issuer web1.example.net serves p256" in rows[0]["text"]
    (shared,) = dom.tables["shared"]
    assert shared["data-drift"] == "web3.example.net" and "1 of 2 members serve the issuer's" in shared["text"]
    png = read_png(str(chromium.screenshot(page, "fleet-report-drift.png", 1400, 900)))
    palette = {"header": HEADER, **{h: rgb(c[0]) for h, c in HEALTH_COLOURS.items()}}
    runs = colour_runs(png.column(BORDER_X), palette)
    table = runs[runs.index("header") + 1:]
    assert table[:3] == ["drift", "expiring", "ok"], runs
    assert "drift" in table[table.index("header") + 1:], runs  # the shared table's row
