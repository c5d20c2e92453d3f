"""Shared domains in the host's status (md-status "fleet" key, renewal issued-by, HTML, Prometheus)
and drift in the fleet report: the issuer's serial per key type, members on another serial or
missing it (urgent, before their copy is in its warn window), an issuer that gave no status."""

from __future__ import annotations

import re

from mdcore.clock import FakeClock
from mdcore.status import build_status, md_json, render_html, render_prometheus, report_json
from mdcore.status.fleet import DRIFT, UNREACHABLE, build_fleet_report, fleet_json, render_fleet_html
from mdcore.store import Store

from .conftest import validate
from .synth import DAY, Spec, make_store

MEMBERS = ["web1", "web2", "web3"]


def shop(host: str, age=10 * DAY, **kw) -> Spec:
    """The shared domain as host sees it (web1 issues it; the others import)."""
    issued_here = host == "web1"
    return Spec("shop.example", key_types=["p256", "rsa2048"], age=age,
                fleet={"issuer": "web1", "members": MEMBERS, "issued_here": issued_here},
                imported_from=None if issued_here else "web1", **kw)


def status_of(tmp_path, clock: FakeClock, host: str, *specs: Spec) -> dict:
    root = str(tmp_path / host)
    make_store(root, clock.now(), list(specs))
    return report_json(build_status(Store(root, clock), clock))


def one(doc: dict, name: str = "shop.example") -> dict:
    return next(md for md in doc["managed-domains"] if md["name"] == name)


def test_the_fleet_key_on_issuer_and_member(tmp_path, clock) -> None:
    issuer = one(status_of(tmp_path, clock, "web1", shop("web1"), Spec("own.example")))
    member = one(status_of(tmp_path, clock, "web2", shop("web2")))
    assert issuer["fleet"] == {"issuer": "web1", "issued-here": True, "members": MEMBERS, "imported": None}
    assert "issued-by" not in issuer["renewal"] and "next-run" in issuer["renewal"]
    imported_at = clock.now() - 10 * DAY + DAY / 24
    assert member["fleet"] == {"issuer": "web1", "issued-here": False, "members": MEMBERS, "imported": {
        "from": "web1", "at": imported_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "at-unix": int(imported_at.timestamp())}}
    assert member["renewal"]["issued-by"] == "web1" and "next-run" not in member["renewal"]
    own = one(status_of(tmp_path, clock, "web1b", Spec("own.example")), "own.example")
    assert "fleet" not in own and "issued-by" not in own["renewal"]  # per-host domains: as before


def test_a_member_in_its_renew_window_says_the_issuer_is_late(tmp_path, clock) -> None:
    member = one(status_of(tmp_path, clock, "web2", shop("web2", age=65 * DAY)))
    assert member["health"] == "renewing"
    assert re.fullmatch(r"renew window 33% reached; expires in \d+ days; waiting for a newer set from its issuer "
                        r"web1 \(distribution is late\)", member["health-descr"])
    waiting = one(status_of(tmp_path, clock, "web3", shop("web3", issued=False)))
    assert (waiting["health"], waiting["health-descr"]) == (
        "incomplete", "no certificate yet: waiting for the set from its issuer web1")
    late = one(status_of(tmp_path, clock, "web4", shop("web4", age=85 * DAY)))
    assert late["health"] == "expiring"  # the warn window still warns (and `expiring` fires)


def test_page_and_prometheus_show_it(tmp_path, clock) -> None:
    make_store(str(tmp_path / "m"), clock.now(), [shop("web2"), Spec("own.example")])
    report = build_status(Store(str(tmp_path / "m"), clock), clock)
    page = render_html(report)
    assert "issued by <b>web1</b>, imported" in page
    prom = render_prometheus(report)
    assert 'mdfleet_md_imported{md="shop.example",issuer="web1"} 1' in prom
    assert re.search(r'mdfleet_md_imported_timestamp_seconds\{md="shop.example",issuer="web1"\} \d+', prom)
    assert 'mdfleet_md_imported{md="own.example"' not in prom
    make_store(str(tmp_path / "i"), clock.now(), [shop("web1")])
    issuer = build_status(Store(str(tmp_path / "i"), clock), clock)
    assert 'mdfleet_md_imported{md="shop.example",issuer="web1"} 0' in render_prometheus(issuer)
    assert "shared: issued here for web2, web3" in render_html(issuer)
    assert md_json(issuer.domains[0], clock.now())["fleet"]["issued-here"] is True


# -- the fleet report -------------------------------------------------------------------------
def fleet_statuses(tmp_path, clock) -> dict:
    return {
        "web1": status_of(tmp_path, clock, "web1", shop("web1", age=2 * DAY), Spec("web1.example", age=84 * DAY)),
        "web2": status_of(tmp_path, clock, "web2", shop("web2", age=2 * DAY)),  # in sync
        "web3": status_of(tmp_path, clock, "web3", shop("web3", age=30 * DAY)),  # older: drift
        "web4": status_of(tmp_path, clock, "web4", Spec("web4.example")),  # a member that lacks it
    }


def test_drift_is_urgent_before_the_members_copy_expires(tmp_path, clock) -> None:
    statuses = fleet_statuses(tmp_path, clock)
    one(statuses["web1"])["fleet"]["members"].append("web4")
    report = build_fleet_report(statuses, clock.now())
    order = [(r.host, r.md, r.health) for r in report.rows]
    assert order[:2] == [("web4", "shop.example", DRIFT), ("web3", "shop.example", DRIFT)]  # none first
    assert order[2] == ("web1", "web1.example", "expiring")  # drift comes before a warn window
    web3 = next(r for r in report.rows if r.host == "web3")
    issuer_serials = {kt: c["serial"] for kt, c in one(statuses["web1"])["cert"].items() if kt != "valid"}
    assert web3.health_descr.startswith("serves p256 ")
    assert "its issuer web1 serves p256 %s, rsa2048 %s: distribute it" % (
        issuer_serials["p256"], issuer_serials["rsa2048"]) in web3.health_descr
    assert next(r for r in report.rows if r.host == "web2" and r.md == "shop.example").health == "ok"
    (cert,) = report.shared
    assert (cert.md, cert.issuer, cert.issuer_reachable, cert.serials) == ("shop.example", "web1", True,
                                                                           issuer_serials)
    assert [(m.host, m.state) for m in cert.members] == [("web2", "in-sync"), ("web3", "drift"), ("web4", "missing")]
    assert cert.note == "1 of 3 members serve the issuer's p256 %s, rsa2048 %s" % (
        issuer_serials["p256"], issuer_serials["rsa2048"])
    doc = fleet_json(report)
    assert doc["summary"][DRIFT] == 2 and doc["shared"][0]["drift"] == ["web3", "web4"]
    assert doc["rows"][0]["issuer"] == "web1" and doc["rows"][0]["imported"] is True
    page = render_fleet_html(report)
    assert '<table id="shared">' in page and 'data-drift="web3 web4"' in page


def test_an_unreachable_issuer_is_shown_with_what_members_keep_serving(tmp_path, clock) -> None:
    statuses = fleet_statuses(tmp_path, clock)
    member_serials = {kt: c["serial"] for kt, c in one(statuses["web2"])["cert"].items() if kt != "valid"}
    until = one(statuses["web3"])["cert"]["valid"]["until"]  # web3's older copy ends first
    statuses["web1"] = None
    report = build_fleet_report(statuses, clock.now())
    (cert,) = report.shared
    assert not cert.issuer_reachable and cert.serials == {}
    assert cert.note.startswith("issuer web1 unreachable: members keep serving serial ")
    assert "p256 %s, rsa2048 %s" % (member_serials["p256"], member_serials["rsa2048"]) in cert.note
    assert cert.note.endswith("until %s" % until)
    row = next(r for r in report.rows if r.host == "web1" and r.md == "shop.example")
    assert (row.health, row.health_descr) == (UNREACHABLE, cert.note)
    assert all(r.health != DRIFT for r in report.rows)  # nothing to compare with: no drift claimed


def test_a_member_that_gave_no_status_is_unreachable_not_drift(tmp_path, clock) -> None:
    statuses = fleet_statuses(tmp_path, clock)
    statuses["web3"] = None
    (cert,) = build_fleet_report(statuses, clock.now()).shared
    assert [(m.host, m.state) for m in cert.members] == [("web2", "in-sync"), ("web3", "unreachable")]
    assert cert.behind == []


def test_hostile_fleet_keys_do_not_break_the_report(tmp_path, clock) -> None:
    statuses = fleet_statuses(tmp_path, clock)
    one(statuses["web2"])["fleet"] = {"issuer": 5}
    one(statuses["web3"])["fleet"]["members"] = "web9"
    one(statuses["web3"])["cert"]["p256"] = "garbage"
    report = build_fleet_report(statuses, clock.now())
    assert [(m.host, m.state) for m in report.shared[0].members] == [("web2", "in-sync"), ("web3", "drift")]
    assert "<script" not in render_fleet_html(report)


def test_the_fleet_views_match_their_schemas(tmp_path, clock) -> None:
    """(Separate: Debian's python3 may lack jsonschema, which skips only this test.)"""
    for host, spec in (("web1", shop("web1")), ("web2", shop("web2")), ("web3", shop("web3", issued=False))):
        validate(status_of(tmp_path, clock, host, spec, Spec("own.example")), "md-status")
    statuses = fleet_statuses(tmp_path / "fleet", clock)
    validate(fleet_json(build_fleet_report(statuses, clock.now())), "fleet-report")
    statuses["web1"] = None
    validate(fleet_json(build_fleet_report(statuses, clock.now())), "fleet-report")


def test_expiring_still_fires_on_a_member(tmp_path, clock) -> None:
    from mdcore.status import check_expiring

    from ..helpers import RecordingEvents

    root = str(tmp_path / "web2")
    calm = Spec("calm.example", fleet={"issuer": "web1", "members": MEMBERS, "issued_here": False},
                imported_from="web1")
    make_store(root, clock.now(), [shop("web2", age=85 * DAY), calm])
    store = Store(root, clock)
    events = RecordingEvents()
    assert check_expiring(store, build_status(store, clock), events) == ["shop.example"]
    assert events.fired == [("expiring", "shop.example")]
