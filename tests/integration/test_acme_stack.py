"""The detached ACME stack of the molecule scenarios and the demo (python3 -m peers.stack): it
comes up, maps names, issues short-lived certificates, its OCSP responder answers what pebble's
records say (signed by pebble's intermediate; checked with cryptography and `openssl ocsp`), and
`stop` leaves no process behind."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp

from peers.acme_mini import MiniAcme, dns01_value
from peers.dns import query
from peers.require import need
from peers.wait import pid_alive

TESTS = Path(__file__).resolve().parents[1]


def _stack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "peers.stack", *args], cwd=TESTS, capture_output=True, text=True,
                          timeout=90, check=False, env=dict(os.environ, PYTHONPATH=str(TESTS)))


@pytest.fixture
def stack(tmp_path):
    need("pebble")
    need("pebble-challtestsrv")
    folder = tmp_path / "stack"
    started = _stack("start", "--dir", str(folder), "--ocsp", "builtin", "--validity", "900",
                     "--name", "host.stack.test=127.0.0.9", "--ttl", "120")
    assert started.returncode == 0, started.stderr
    state = json.loads(started.stdout)
    yield state
    stopped = _stack("stop", "--dir", str(folder))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not pid_alive(state["pid"])
    assert not (folder / "stack.json").exists()


def test_stack_issues_and_answers_ocsp(stack):
    assert query(stack["dns"], "host.stack.test") == ["127.0.0.9"]
    acme = MiniAcme(stack["directory_url"], stack["ca_bundle"])

    def solve(_kind, domain, _token, key_authorization):
        requests.post(stack["challtestsrv_url"] + "/set-txt", timeout=5,
                      json={"host": "_acme-challenge.%s." % domain, "value": dns01_value(key_authorization)})

    pem = acme.issue(["ocsp.stack.test"], solve, "dns-01")
    leaf = x509.load_pem_x509_certificate(pem.encode())
    issuer = x509.load_pem_x509_certificate(Path(stack["intermediate_file"]).read_bytes())
    # cryptography >= 42 has *_utc (the naive properties warn); Debian's 38 only the naive ones
    after, before = (getattr(leaf, name + "_utc", None) or getattr(leaf, name)
                     for name in ("not_valid_after", "not_valid_before"))
    assert after - before <= datetime.timedelta(seconds=900)
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [stack["ocsp_url"]]

    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    http = urllib.request.Request(stack["ocsp_url"], data=request.public_bytes(serialization.Encoding.DER),
                                  headers={"Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(http, timeout=5) as resp:  # loopback test peer
        der = resp.read()
    answer = ocsp.load_der_ocsp_response(der)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == leaf.serial_number

    # signed by pebble's intermediate itself (RSA), the issuer of the certificate
    issuer.public_key().verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(),
                               answer.signature_hash_algorithm)


def test_stack_ocsp_verified_by_openssl(stack, tmp_path):
    need("openssl")
    acme = MiniAcme(stack["directory_url"], stack["ca_bundle"])

    def solve(_kind, domain, _token, key_authorization):
        requests.post(stack["challtestsrv_url"] + "/set-txt", timeout=5,
                      json={"host": "_acme-challenge.%s." % domain, "value": dns01_value(key_authorization)})

    pem = acme.issue(["openssl.stack.test"], solve, "dns-01")
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    out = subprocess.run(["openssl", "ocsp", "-issuer", stack["intermediate_file"], "-cert", str(leaf),
                          "-url", stack["ocsp_url"], "-CAfile", stack["roots_file"],
                          "-VAfile", stack["intermediate_file"]],
                         capture_output=True, text=True, timeout=30, check=False)
    assert "Response verify OK" in out.stderr + out.stdout, out.stderr
    assert ": good" in out.stdout
