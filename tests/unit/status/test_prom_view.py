"""Prometheus text: parsed by prometheus_client's own parser; x509-certificate-exporter's metric
names and labels; mdfleet_* series; label values that need escaping survive the round trip."""

from __future__ import annotations

import json

import pytest

from mdcore.ocsp.state import OcspStatus
from mdcore.status import Health, build_status, render_prometheus
from mdcore.status.prom_view import escape_label, parse_dn

from .synth import DAY, Spec, fleet_mix

X509_LABELS = {"serial_number", "subject_C", "subject_ST", "subject_L", "subject_O", "subject_OU",
               "subject_CN", "issuer_C", "issuer_ST", "issuer_L", "issuer_O", "issuer_OU", "issuer_CN",
               "filename", "filepath",
               "md", "key_type"}


def families(text: str) -> dict:
    parser = pytest.importorskip("prometheus_client.parser")
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def samples(fams: dict, name: str, **match) -> list:
    return [s for s in fams[name].samples if all(s.labels.get(k) == v for k, v in match.items())]


def test_parsed_by_prometheus_client(synth, clock):
    store = synth(
        *fleet_mix(40),
        Spec("expired.example", age=100 * DAY),
        Spec("revoked.example", ocsp=OcspStatus.REVOKED),
        Spec("unknown.example", ocsp=OcspStatus.UNKNOWN),
    )
    report = build_status(store, clock)
    fams = families(render_prometheus(report))
    for name in ("x509_cert_not_after", "x509_cert_not_before", "x509_cert_expired",
                 "x509_cert_expires_in_seconds",
                 "x509_cert_valid_since_seconds", "mdfleet_md_state", "mdfleet_md_health",
                 "mdfleet_md_renew_at_timestamp_seconds", "mdfleet_md_renewal_errors", "mdfleet_ocsp_status",
                 "mdfleet_ocsp_next_update_timestamp_seconds", "mdfleet_ocsp_refresh_at_timestamp_seconds",
                 "mdfleet_managed_domains", "mdfleet_status_generated_timestamp_seconds"):
        assert fams[name].type == "gauge", name
    for sample in fams["x509_cert_not_after"].samples:
        assert set(sample.labels) == X509_LABELS
    md = report.get("expired.example")
    cert = md.certs[0]
    (after,) = samples(fams, "x509_cert_not_after", md="expired.example")
    assert after.value == cert.not_after.timestamp()
    assert after.labels["serial_number"] == str(int(cert.serial, 16))  # decimal, as the exporter
    assert after.labels["subject_CN"] == "expired.example"
    assert after.labels["issuer_CN"] == "Synthetic Intermediate E9"
    assert after.labels["filename"] == "cert.pem" and after.labels["filepath"] == cert.files.cert
    assert samples(fams, "x509_cert_expired", md="expired.example")[0].value == 1
    assert samples(fams, "x509_cert_expires_in_seconds", md="expired.example")[0].value < 0
    assert {s.value for s in samples(fams, "x509_cert_expired", md="site0000.example.org")} == {0}
    health = {s.labels["health"]: s.value for s in samples(fams, "mdfleet_md_health", md="expired.example")}
    assert health == {h: (1 if h == Health.EXPIRED else 0) for h in Health.ORDER}
    assert samples(fams, "mdfleet_md_state", md="expired.example")[0].value == 3
    status = {s.labels["status"]: s.value for s in samples(fams, "mdfleet_ocsp_status", md="revoked.example")}
    assert status["revoked"] == 1 and sum(status.values()) == 1 and set(status) == set(OcspStatus.ALL)
    # the last success is a definitive answer: an 'unknown' one (stored, not served) is none
    successes = {s.labels["md"] for s in fams["mdfleet_ocsp_last_success_timestamp_seconds"].samples}
    assert "revoked.example" in successes and "unknown.example" not in successes
    errors = {s.labels["md"]: s.value for s in fams["mdfleet_md_renewal_errors"].samples}
    assert errors["site0003.example.org"] == 3
    counts = {s.labels["health"]: s.value for s in fams["mdfleet_managed_domains"].samples}
    assert counts == {k: float(v) for k, v in report.summary().items()}
    assert fams["mdfleet_status_generated_timestamp_seconds"].samples[0].value == clock.now().timestamp()


def test_label_values_are_escaped(synth, clock):
    store = synth(Spec("a.example"))
    path = store.path("archive", "a.example.1", "set.json")
    doc = json.load(open(path))
    evil = 'Evil "CA" \\ back\nslash'
    doc["certs"]["p256"]["issuer"] = "/CN=" + evil + "/O=Org/Unit"
    json.dump(doc, open(path, "w"))
    fams = families(render_prometheus(build_status(store, clock)))
    (after,) = samples(fams, "x509_cert_not_after", md="a.example")
    assert after.labels["issuer_CN"] == evil and after.labels["issuer_O"] == "Org/Unit"


def test_static_files_and_unreadable_ones(synth, clock, tmp_path):
    store = synth(Spec("a.example"))
    fams = families(render_prometheus(build_status(store, clock, others=[str(tmp_path / "gone.pem")])))
    (err,) = fams["x509_cert_error"].samples
    assert err.value == 1 and err.labels["filepath"] == str(tmp_path / "gone.pem") and err.labels["md"] == ""
    assert not samples(fams, "mdfleet_md_state", md=str(tmp_path / "gone.pem"))


def test_parse_dn():
    assert parse_dn("/CN=Pebble Intermediate CA 6dbded") == {"CN": "Pebble Intermediate CA 6dbded"}
    assert parse_dn("/C=US/O=Let's Encrypt/CN=R11") == {"C": "US", "O": "Let's Encrypt", "CN": "R11"}
    assert parse_dn("CN=www.example.org,O=Example\\, Inc.,C=DE") == {"CN": "www.example.org",
                                                                     "O": "Example, Inc.", "C": "DE"}
    long_names = "/stateOrProvinceName=Bayern/localityName=M/CN=x"
    assert parse_dn(long_names) == {"ST": "Bayern", "L": "M", "CN": "x"}
    assert parse_dn(None) == {} and parse_dn("") == {}
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
