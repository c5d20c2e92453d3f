"""JSON views: the schema kept in the repo, mod_md's key names (compared with a real mod_md
2.6.10 md-status), Unix timestamps beside every time, and nothing secret in any view."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from mdcore.ocsp.state import OcspStatus
from mdcore.status import build_status, md_json, render_html, render_prometheus, report_json
from mdcore.status.json_view import json_text
from mdcore.timefmt import http_date

from .conftest import SECRETS, validate
from .synth import DAY, Spec, fleet_mix

REFERENCE = Path(__file__).resolve().with_name("data")  # copies of the project's shared/reference/
MOD_MD_SAMPLE = {
    # mod_md 2.6.10's md-status of one managed domain (data/mod_md-2.6.10-md-status.json)
    "name", "domains", "contacts", "transitive", "ca", "state", "renew-mode", "renew-window", "warn-window",
    "must-staple", "proto", "stapling", "profile-mandatory", "ari-renewals", "cert", "renew-at", "watched",
}
# mod_md keys we do not have: Apache-only switches (transitive, proto, watched, must-staple,
# profile-mandatory, ari-renewals: the engine has no such options yet).
NOT_OURS = {"transitive", "must-staple", "proto", "profile-mandatory", "watched"}
MOD_MD_CERT_KEYS = {"issuer-name", "valid", "serial", "sha256-fingerprint", "ari-cert-id", "ocsp"}
MOD_MD_OCSP_KEYS = {"status", "valid", "renewal"}


def everything(store, clock) -> dict:
    return report_json(build_status(store, clock))


def test_fleet_mix_validates_against_the_schema(synth, clock):
    store = synth(*fleet_mix(60), Spec("revoked.example", ocsp=OcspStatus.REVOKED),
                  Spec("lost.example", ocsp_expired=True), Spec("never.example", ocsp=None),
                  Spec("expired.example", age=95 * DAY), Spec("dual.example", key_types=["p256", "rsa2048"]))
    doc = everything(store, clock)
    validate(doc, "md-status")
    assert len(doc["managed-domains"]) == 65
    urgency = [md["urgency"] for md in doc["managed-domains"]]
    assert urgency == sorted(urgency)  # most urgent first
    for md in doc["managed-domains"]:
        validate({**doc, "managed-domains": [md]}, "md-status")


def test_mod_md_key_names(synth, clock):
    reference = json.loads((REFERENCE / "mod_md-2.6.10-md-status.json").read_text())["managed-domains"][0]
    assert set(reference) == MOD_MD_SAMPLE  # the sample is what we compared with
    ours = everything(synth(Spec("a.example", key_types=["rsa2048"])), clock)["managed-domains"][0]
    assert set(reference) - NOT_OURS <= set(ours)
    assert set(reference["ca"]) - {"account", "agreement"} <= set(ours["ca"])
    assert set(reference["cert"]["rsa"]) == MOD_MD_CERT_KEYS <= set(ours["cert"]["rsa2048"])
    assert set(reference["cert"]["rsa"]["ocsp"]) == MOD_MD_OCSP_KEYS <= set(ours["cert"]["rsa2048"]["ocsp"])
    assert set(reference["cert"]["valid"]) <= set(ours["cert"]["valid"])
    assert {"last-run", "errors", "last"} <= set(reference["cert"]["rsa"]["ocsp"]["renewal"])
    assert {"last-run", "errors", "last"} <= set(ours["cert"]["rsa2048"]["ocsp"]["renewal"])
    before = json.loads((REFERENCE / "mod_md-2.6.10-md-status-before-activation.json").read_text())
    mod_md_only = {"notified", "notified-renewed", "valid-from", "cert"}
    job_keys = set(before["managed-domains"][0]["renewal"]) - mod_md_only
    assert job_keys <= set(ours["renewal"]) | {"last"}
    # same value formats: state ints, HTTP dates, 'NN%' windows
    assert ours["state"] == reference["state"] == 2 and ours["renew-window"] == reference["renew-window"]
    assert parse_http(reference["renew-at"]) and parse_http(ours["renew-at"])


def parse_http(text: str) -> bool:
    import email.utils

    return email.utils.parsedate_to_datetime(text) is not None and text.endswith(" GMT")


def test_every_time_has_a_unix_twin(synth, clock):
    doc = everything(synth(*fleet_mix(25)), clock)
    seen = 0

    def walk(node):
        nonlocal seen
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and value.endswith(" GMT"):
                    seen += 1
                    twin = node[key + "-unix"]
                    assert http_date(datetime.datetime.fromtimestamp(twin, datetime.timezone.utc)) == value
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    assert seen > 200


def test_http_date_is_mod_mds_format(clock):
    for days in range(0, 400, 7):
        moment = clock.now() + days * DAY
        assert http_date(moment) == moment.astimezone(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_per_domain_view_is_an_item_of_the_whole(synth, clock):
    store = synth(Spec("a.example"), Spec("b.example", errors=2))
    report = build_status(store, clock)
    whole = report_json(report)
    for md in report.domains:
        assert md_json(md, report.generated) in whole["managed-domains"]


def test_nothing_secret_in_any_view(synth, clock):
    store = synth(*fleet_mix(40))  # its accounts/ hold a key and an EAB secret
    report = build_status(store, clock)
    texts = [json.dumps(report_json(report)), render_html(report), render_prometheus(report)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_nothing_secret_from_an_engine_written_store(run_md, make_cfg, store, clock):
    result = run_md(make_cfg(["www.example.org"], key_types=["p256", "rsa2048"]))
    report = build_status(store, clock)
    texts = [json.dumps(report_json(report)), render_html(report), render_prometheus(report)]
    keys = [open(c["key_path"]).read() for c in result.certificates.values()]
    account_key = [p.read_text() for p in Path(store.path("accounts")).rglob("*.pem")]
    assert keys and account_key
    for text in texts:
        assert "PRIVATE KEY" not in text
        for pem in keys + account_key:
            body = "".join(pem.strip().splitlines()[1:-1])
            assert body[:40] not in text


def key_paths(doc, prefix: str = "") -> set[str]:
    """Every key of a JSON document as a dotted path ('cert.rsa.ocsp.renewal.finished'); list items
    as '[]' (their union)."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = prefix + "." + key if prefix else key
            out.add(path)
            out |= key_paths(value, path)
    elif isinstance(doc, list):
        for item in doc:
            out |= key_paths(item, prefix + "[]")
    return out


def documented_differences() -> set[str]:
    """The paths docs/monitoring.md lists under 'Differences to mod_md's md-status'."""
    import re

    text = (Path(__file__).resolve().parents[3] / "docs" / "monitoring.md").read_text()
    section = text.split("### Differences to mod_md's md-status", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.M)}


def test_every_mod_md_key_is_ours_or_documented(synth, clock):
    """With key_names=mod_md, a mod_md user's jq paths work: every key of the two real mod_md
    2.6.10 md-status samples exists in ours, except those docs/monitoring.md lists as differences."""
    from mdcore.status.json_view import KeyNames

    store = synth(Spec("a.example", key_types=["rsa2048"]), Spec("new.example", issued=False))
    ours = report_json(build_status(store, clock), KeyNames.MOD_MD)["managed-domains"]
    assert {"rsa"} == set(ours[-1]["cert"]) - {"valid"} or {"rsa"} == set(ours[0]["cert"]) - {"valid"}
    mine = set().union(*(key_paths(md) for md in ours))
    missing = set()
    for sample in ("mod_md-2.6.10-md-status.json", "mod_md-2.6.10-md-status-before-activation.json"):
        reference = json.loads((REFERENCE / sample).read_text())["managed-domains"][0]
        missing |= key_paths(reference) - mine
    assert missing == documented_differences()


def test_mod_md_key_names_are_a_choice(synth, clock):
    from mdcore.status.json_view import KeyNames

    store = synth(Spec("dual.example", key_types=["p256", "rsa2048", "p384"]))
    status = build_status(store, clock)
    ours = report_json(status)
    theirs = report_json(status, KeyNames.MOD_MD)
    assert ours["key-names"] == "mdfleet" and theirs["key-names"] == "mod_md"
    assert set(ours["managed-domains"][0]["cert"]) == {"valid", "p256", "rsa2048", "p384"}
    assert set(theirs["managed-domains"][0]["cert"]) == {"valid", "secp256r1", "rsa", "secp384r1"}
    assert theirs["managed-domains"][0]["key-types"] == ["p256", "rsa2048", "p384"]  # the config's names
    validate(theirs, "md-status")


def test_json_text_is_one_domain_a_line(synth, clock):
    """The written views: the same document as json.dumps gives, one top-level key a line and one
    managed domain a line (readable and diffable without the pure-Python indent encoder)."""
    store = synth(*fleet_mix(5), Spec("dual.example", key_types=["p256", "rsa2048"]))
    doc = everything(store, clock)
    text = json_text(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and len(lines) == 2 + len(doc) + len(doc["managed-domains"]) + 1
    domains = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    {")]
    assert domains == doc["managed-domains"]
    ordered = json_text(doc, sort_keys=True)
    assert json.loads(ordered) == doc and ordered.splitlines()[1].startswith('  "generated"')
    assert json_text({}) == "{}" and json.loads(json_text({"empty": [], "n": 1})) == {"empty": [], "n": 1}
