"""The fleet report from several hosts' md_status facts: urgent rows first, unreachable hosts,
stapling, the timeline, the schema, and escaping of what other machines sent."""

from __future__ import annotations

from mdcore.clock import FakeClock
from mdcore.ocsp.state import OcspStatus
from mdcore.status import build_status, report_json
from mdcore.status.fleet import build_fleet_report, fleet_json, render_fleet_html
from mdcore.store import Store

from .conftest import validate
from .synth import DAY, Spec, make_store


def host_status(tmp_path, clock: FakeClock, name: str, *specs: Spec) -> dict:
    root = str(tmp_path / name)
    make_store(root, clock.now(), list(specs))
    return report_json(build_status(Store(root, clock), clock))


def statuses(tmp_path, clock) -> dict:
    return {
        "web1": host_status(tmp_path, clock, "web1", Spec("shop.example"), Spec("old.example", age=86 * DAY),
                            Spec("blog.example", ocsp=OcspStatus.REVOKED)),
        "web2": host_status(tmp_path, clock, "web2", Spec("api.example", errors=4),
                            Spec("cdn.example", age=70 * DAY, ocsp_errors=3),
                            Spec("gone.example", age=95 * DAY)),
        "web3": None,
        "web4": {"managed-domains": "garbage"},
    }


def test_rows_most_urgent_first(tmp_path, clock):
    report = build_fleet_report(statuses(tmp_path, clock), clock.now())
    order = [(r.host, r.md, r.health) for r in report.rows]
    assert order[0] == ("web2", "gone.example", "expired")
    assert {o[2] for o in order[1:3]} == {"error"}
    assert [o[0] for o in order[3:5]] == ["web3", "web4"] and {o[2] for o in order[3:5]} == {"unreachable"}
    assert order[5:] == [("web1", "old.example", "expiring"), ("web2", "cdn.example", "renewing"),
                         ("web1", "shop.example", "ok")]
    assert report.unreachable == ["web3", "web4"] and report.hosts == ["web1", "web2", "web3", "web4"]
    blog = next(r for r in report.rows if r.md == "blog.example")
    assert blog.stapling == "error" and blog.ocsp_statuses == ["p256: revoked"]
    assert next(r for r in report.rows if r.md == "cdn.example").stapling == "warning"


def test_json_matches_the_schema_and_the_timeline_counts_everything(tmp_path, clock):
    doc = fleet_json(build_fleet_report(statuses(tmp_path, clock), clock.now()))
    validate(doc, "fleet-report")
    assert doc["summary"]["unreachable"] == 2
    assert doc["hosts"] == {"total": 4, "unreachable": ["web3", "web4"]}
    with_expiry = [r for r in doc["rows"] if "not-after-unix" in r]
    assert sum(b["total"] for b in doc["timeline"]) == len(with_expiry) == 6
    assert doc["timeline"][0]["label"] == "expired" and doc["timeline"][0]["total"] == 1
    assert [r["urgency"] for r in doc["rows"]] == sorted(r["urgency"] for r in doc["rows"])


def test_host_going_stale_is_expired_in_the_report(tmp_path, clock):
    facts = {"h": host_status(tmp_path, clock, "h", Spec("a.example", age=89 * DAY))}
    later = clock.now() + 2 * DAY
    (row,) = build_fleet_report(facts, later).rows
    assert row.health == "expired"


def test_page_escapes_what_hosts_sent(tmp_path, clock):
    facts = {"<img src=x onerror=alert(1)>": {"managed-domains": [
        {"name": "<script>x</script>", "domains": ["\"><b>"], "health": "ok", "health-descr": "<i>",
         "cert": {"valid": {"until-unix": "not a number"}}}]}}
    page = render_fleet_html(build_fleet_report(facts, clock.now()))
    assert "<script>x" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert 'id="timeline"' in page and 'id="fleet"' in page


def test_host_without_managed_domains_gets_a_row(tmp_path, clock):
    """It was counted in the header but shown nowhere (a host whose store does not exist yet)."""
    empty = report_json(build_status(Store(str(tmp_path / "never-deployed"), clock), clock))
    report = build_fleet_report({"web1": host_status(tmp_path, clock, "web1", Spec("shop.example")),
                                 "web9": empty}, clock.now())
    assert report.hosts == ["web1", "web9"]
    (row,) = [r for r in report.rows if r.host == "web9"]
    assert row.health == "incomplete" and "no managed domains in the store" in row.health_descr
    assert str(tmp_path / "never-deployed") in row.health_descr
    assert "web9" in render_fleet_html(report) and any(r["host"] == "web9" for r in fleet_json(report)["rows"])
