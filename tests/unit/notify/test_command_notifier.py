"""CommandNotifier with a scripted runner and the fake clock: arguments, environment, mod_md's
rate limits, 'renewing' vetoes, 'renewed' retried until delivered, failures recorded."""

from __future__ import annotations

import json
import os

from mdcore.events import EventName
from mdcore.notify import CommandNotifier, NotifyState, state_path
from mdcore.notify.command import RATE_LIMITS
from mdcore.status import build_status, md_json

from .conftest import COMMAND

HOUR = 3600


def test_argument_list_and_environment(run_md, make_cfg, store, notifier, runner):
    result = run_md(make_cfg(["www.example.org", "example.org"], key_types=["p256", "rsa2048"]))
    assert notifier.fire(EventName.RENEWED, result.md, {"serials": {"p256": "AB"}})
    ((argv, env, timeout),) = runner.calls
    assert argv == COMMAND + ["renewed", "www.example.org"] and timeout == 5
    p256, rsa = result.certificates["p256"], result.certificates["rsa2048"]
    assert env["MDFLEET_EVENT"] == "renewed" and env["MDFLEET_MD"] == "www.example.org"
    assert env["MDFLEET_CERT_PATHS"] == p256["cert_path"] + ":" + rsa["cert_path"]
    assert env["MDFLEET_FULLCHAIN_PATHS"].split(":") == [p256["fullchain_path"], rsa["fullchain_path"]]
    assert env["MDFLEET_SERIAL"] == "%s %s" % (p256["serial"], rsa["serial"])
    assert env["MDFLEET_NOT_AFTER"] == min(p256["not_after"], rsa["not_after"])
    assert env["MDFLEET_DOMAINS"] == "www.example.org example.org"
    assert env["MDFLEET_KEY_TYPES"] == "p256 rsa2048"
    assert json.loads(env["MDFLEET_SERIALS"]) == {"p256": "AB"}  # details become MDFLEET_<KEY>
    assert env["MDFLEET_STORE"] == store.root and env["PATH"] == "/usr/bin"
    assert "MDFLEET_STALE" not in env  # nothing of an earlier environment's MDFLEET_*
    assert not any("PRIVATE KEY" in v for v in env.values())


def test_errors_and_challenge_details(store, notifier, runner):
    notifier.fire("challenge-setup:http-01:www.example.org", "www.example.org")
    notifier.fire(EventName.ERRORED, "www.example.org", {"error": "CA says no"})
    notifier.fire(EventName.RENEWING, "www.example.org", {"reasons": ["names changed", "forced"]})
    (_argv1, env1, _timeout1), (_argv2, env2, _timeout2), (_argv3, env3, _timeout3) = runner.calls
    assert env3["MDFLEET_REASONS"] == "names changed; forced"
    assert env1["MDFLEET_CHALLENGE_TYPE"] == "http-01"
    assert env1["MDFLEET_CHALLENGE_DOMAIN"] == "www.example.org"
    assert env2["MDFLEET_ERROR"] == "CA says no" and "MDFLEET_CERT_PATHS" not in env2  # no set yet


def test_no_command_runs_nothing(store, notifier_for, runner):
    quiet = notifier_for(store, command=[])
    assert quiet.fire(EventName.RENEWING, "a.example") and quiet.fire(EventName.RENEWED, "a.example")
    assert runner.calls == [] and not os.path.exists(store.path("events"))
    assert quiet.retry_pending() == []


def test_rate_limits_as_mod_md(store, notifier, runner, clock):
    day = 24 * HOUR
    assert RATE_LIMITS == {"errored": HOUR, "ocsp-errored": HOUR, "renewed": day, "installed": day,
                           "expiring": day, "ocsp-renewed": day}
    for event, limit in RATE_LIMITS.items():
        runner.calls.clear()
        notifier.fire(event, "a.example")
        clock.advance(limit - 1)
        notifier.fire(event, "a.example")  # suppressed
        notifier.fire(event, "b.example")  # another domain: its own limit
        clock.advance(2)
        notifier.fire(event, "a.example")
        assert runner.events() == [(event, "a.example"), (event, "b.example"), (event, "a.example")], event
    suppressed = [d for d in notifier.deliveries if d.suppressed]
    assert len(suppressed) == len(RATE_LIMITS) and all(not d.ran for d in suppressed)
    assert NotifyState.load(store, "a.example").suppressed == {}  # cleared by the later success


def test_hooks_are_never_rate_limited(store, notifier, runner):
    for _round in range(3):
        notifier.fire(EventName.RENEWING, "a.example")
        notifier.fire("challenge-setup:dns-01:a.example", "a.example")
    assert len(runner.calls) == 6


def test_rate_limits_survive_the_process(store, notifier_for, runner, clock):
    notifier_for(store).fire(EventName.EXPIRING, "a.example")
    clock.advance(12 * HOUR)
    notifier_for(store).fire(EventName.EXPIRING, "a.example")  # a new run (new notifier), same store
    assert len(runner.calls) == 1


def test_renewing_veto_postpones_and_is_shown(store, notifier, runner):
    runner.fail(EventName.RENEWING, 3)
    assert notifier.fire(EventName.RENEWING, "a.example") is False
    state = NotifyState.load(store, "a.example")
    assert state.failures == 0 and state.last_postponed.error == "renewal postponed: exit status 3"


def test_renewing_hook_that_hangs_does_not_block_renewals(store, notifier, runner):
    runner.hang(EventName.RENEWING)
    assert notifier.fire(EventName.RENEWING, "a.example") is True
    state = NotifyState.load(store, "a.example")
    assert state.failures == 1 and state.last_failure.timed_out


def test_renewed_is_retried_until_delivered(store, notifier_for, runner, clock):
    runner.fail(EventName.RENEWED, 2)
    first = notifier_for(store)
    assert first.fire(EventName.RENEWED, "a.example", {"serials": {"p256": "01"}})
    state = NotifyState.load(store, "a.example")
    assert [p.event for p in state.pending] == ["renewed"] and state.failures == 1
    clock.advance(HOUR)
    second = notifier_for(store)
    (retry,) = second.retry_pending()
    assert retry.retry and not retry.ok and NotifyState.load(store, "a.example").pending[0].attempts == 2
    runner.outcomes.clear()
    clock.advance(HOUR)
    (retry,) = notifier_for(store).retry_pending()
    assert retry.ok
    state = NotifyState.load(store, "a.example")
    assert state.pending == [] and state.failures == 0
    assert notifier_for(store).retry_pending() == []
    (_argv, env, _timeout) = runner.calls[-1]
    assert json.loads(env["MDFLEET_SERIALS"]) == {"p256": "01"}  # the retry says what the event said


def test_failures_are_in_the_status(synth_like_store, notifier, runner, clock):
    store = synth_like_store
    runner.hang(EventName.ERRORED)
    notifier.fire(EventName.ERRORED, "a.example", {"error": "boom"})
    runner.fail(EventName.RENEWED, 4)
    clock.advance(60)
    notifier.fire(EventName.RENEWED, "a.example")
    report = build_status(store, clock)
    doc = md_json(report.get("a.example"), report.generated)
    assert doc["notify"]["failures"] == 2 and doc["notify"]["pending"] == ["renewed"]
    assert doc["notify"]["last-failure"]["event"] == "renewed"
    assert doc["notify"]["last-failure"]["error"] == "exit status 4"
    assert doc["notify"]["last-sent"] == {}


def test_corrupt_bookkeeping_is_started_afresh(store, notifier, runner):
    os.makedirs(os.path.dirname(state_path(store, "a.example")), exist_ok=True)
    with open(state_path(store, "a.example"), "w") as handle:
        handle.write("{broken")
    assert notifier.fire(EventName.EXPIRING, "a.example")
    assert len(runner.calls) == 1 and "expiring" in NotifyState.load(store, "a.example").last_success


def test_files_and_odd_names_get_their_own_bookkeeping(store, notifier, runner):
    notifier.fire(EventName.EXPIRING, "/etc/ssl/legacy.pem")
    notifier.fire(EventName.EXPIRING, "/etc/ssl/legacy.pem")
    path = state_path(store, "/etc/ssl/legacy.pem")
    assert os.path.basename(path).startswith("@file-") and os.path.exists(path)
    assert len(runner.calls) == 1 and runner.calls[0][1]["MDFLEET_CERT_PATHS"] == "/etc/ssl/legacy.pem"


def test_corrupt_bookkeeping_is_set_aside_and_rebuilt(store, notifier, runner):
    os.makedirs(store.path("events"), exist_ok=True)
    os.makedirs(state_path(store, "a.example"))  # a folder where the file should be
    assert notifier.fire(EventName.RENEWING, "a.example") is True
    assert notifier.deliveries[-1].ok and os.path.isfile(state_path(store, "a.example"))
    assert [n for n in os.listdir(store.path("events")) if ".json.corrupt-" in n]
    with open(state_path(store, "b.example"), "w") as handle:
        handle.write('{"md": "b.example", "failures": "many"}')  # JSON, but not the bookkeeping
    assert notifier.fire(EventName.RENEWING, "b.example") is True
    assert "b.example.json is corrupt: ValueError" in store.notes[-1]


def test_bookkeeping_failure_never_breaks_a_renewal(store, notifier, runner, monkeypatch):
    from mdcore.notify import state as notify_state

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(notify_state, "write_json", full)
    assert notifier.fire(EventName.RENEWING, "a.example") is True
    assert notifier.deliveries[-1].error.startswith("event bookkeeping failed: [Errno 28] No space left")


def test_notifier_is_an_event_sink_for_the_manager(run_md, make_cfg, store, notifier, runner):
    result = run_md(make_cfg(["www.example.org"]), events=notifier)
    assert result.changed
    assert runner.calls[0][1]["MDFLEET_REASONS"] == "no certificate yet"
    assert runner.events() == [("renewing", "www.example.org"),
                               ("challenge-setup:http-01:www.example.org", "www.example.org"),
                               ("renewed", "www.example.org")]


def test_veto_postpones_the_order(run_md, make_cfg, store, notifier, runner, net):
    runner.fail(EventName.RENEWING)
    result = run_md(make_cfg(["www.example.org"]), events=notifier)
    assert result.action == "postponed" and not result.changed and net.total() == 0
    assert store.active_set("www.example.org") is None


def test_failing_renewed_command_keeps_the_new_certificate(run_md, make_cfg, store, notifier, runner):
    runner.fail(EventName.RENEWED, 9)
    result = run_md(make_cfg(["www.example.org"]), events=notifier)
    assert result.changed and store.active_set("www.example.org").certs["p256"].serial
    assert [p.event for p in NotifyState.load(store, "www.example.org").pending] == ["renewed"]


def test_notifier_subclasses_event_sink():
    from mdcore.events import EventSink

    assert issubclass(CommandNotifier, EventSink)
