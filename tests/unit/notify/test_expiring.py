"""The 'expiring' check run on every drive: fires inside the warn window (and when expired),
once a day per domain, for monitored files too; the status then shows what happened."""

from __future__ import annotations

from mdcore.events import EventName
from mdcore.status import build_status, check_expiring, expiring_details, md_json
from unit.status.synth import DAY, Spec, write_md


def test_fires_exactly_inside_the_warn_window(store, clock, notifier, runner):
    write_md(store.root, clock.now(), Spec("a.example", age=80 * DAY))  # warn at day 81
    write_md(store.root, clock.now(), Spec("fresh.example", age=10 * DAY))
    assert check_expiring(store, build_status(store, clock), notifier) == []
    clock.advance(DAY.total_seconds() - 1)
    assert check_expiring(store, build_status(store, clock), notifier) == []
    clock.advance(1)
    assert check_expiring(store, build_status(store, clock), notifier) == ["a.example"]
    assert runner.events() == [(EventName.EXPIRING, "a.example")]
    env = runner.calls[0][1]
    assert env["MDFLEET_NOT_AFTER"] == "2026-12-09T12:00:00Z" and env["MDFLEET_EXPIRED"] == "0"
    assert env["MDFLEET_WARN_WINDOW"] == "10%"


def test_once_a_day_then_again(store, clock, notifier, runner):
    write_md(store.root, clock.now(), Spec("a.example", age=85 * DAY))
    for _drive in range(5):  # a drive every 4 hours
        check_expiring(store, build_status(store, clock), notifier)
        clock.advance(4 * 3600)
    assert len(runner.calls) == 1
    clock.advance(DAY.total_seconds())
    check_expiring(store, build_status(store, clock), notifier)
    assert len(runner.calls) == 2


def test_expired_and_static_files_fire_too(store, clock, notifier, runner, test_ca, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    write_md(store.root, clock.now(), Spec("gone.example", age=95 * DAY))
    leaf = test_ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), ["legacy.example"],
                         clock.now() - 88 * DAY, 90 * DAY)
    pem = tmp_path / "legacy.pem"
    pem.write_bytes(test_ca.chain_pem(leaf))
    report = build_status(store, clock, others=[str(pem)])
    assert sorted(check_expiring(store, report, notifier)) == sorted(["gone.example", str(pem)])
    envs = {argv[-1]: env for argv, env, _timeout in runner.calls}
    assert envs["gone.example"]["MDFLEET_EXPIRED"] == "1"
    assert envs[str(pem)]["MDFLEET_CERT_PATHS"] == str(pem)


def test_incomplete_domains_do_not_fire(store, clock, notifier, runner):
    write_md(store.root, clock.now(), Spec("new.example", issued=False))
    report = build_status(store, clock)
    assert expiring_details(report.domains[0], clock.now()) is None
    assert check_expiring(store, report, notifier) == [] and runner.calls == []


def test_failure_shows_in_the_report_right_away(store, clock, notifier, runner):
    write_md(store.root, clock.now(), Spec("a.example", age=85 * DAY))
    runner.fail(EventName.EXPIRING, 5)
    report = build_status(store, clock)
    check_expiring(store, report, notifier)
    doc = md_json(report.get("a.example"), report.generated)
    assert doc["notify"]["last-failure"]["error"] == "exit status 5" and doc["notify"]["failures"] == 1
