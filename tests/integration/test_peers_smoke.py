"""The harness tests itself: each peer starts, answers on loopback, and the wiring between them
(pebble -> challtestsrv DNS -> nginx / standalone port / TXT) really validates challenges."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from peers.acme_mini import MiniAcme, b64, dns01_value
from peers.challtestsrv import ChallTestSrv
from peers.dns import TXT, query
from peers.nginx import NGINX, Nginx, TlsSite
from peers.pebble import Pebble, PebbleFactory
from peers.require import need
from peers.tlsutil import TestCA


def _certs(pem: str) -> list[x509.Certificate]:
    marker = "-----END CERTIFICATE-----"
    return [
        x509.load_pem_x509_certificate((part + marker).encode()) for part in pem.split(marker) if part.strip()
    ]


def _check_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    assert cert.issuer == issuer.subject
    key = issuer.public_key()
    assert isinstance(key, rsa.RSAPublicKey)  # pebble's issuers are RSA
    assert cert.signature_hash_algorithm is not None
    key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)


def test_pebble_directory_over_verified_tls(pebble: Pebble) -> None:
    resp = requests.get(pebble.directory_url, verify=pebble.ca_bundle, timeout=5)
    assert resp.status_code == 200
    assert {"newAccount", "newNonce", "newOrder", "revokeCert", "keyChange"} <= set(resp.json())
    # The system trust store must not trust it: proves verification really happens.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pebble.directory_url, timeout=5)


def test_pebble_roots_and_intermediate_key(pebble: Pebble) -> None:
    root = x509.load_pem_x509_certificate(pebble.root_pem().encode())
    inter = x509.load_pem_x509_certificate(pebble.intermediate_pem().encode())
    _check_signed_by(inter, root)
    inter_key = serialization.load_pem_private_key(pebble.intermediate_key_pem().encode(), None)
    assert inter_key.public_key().public_numbers() == inter.public_key().public_numbers()  # type: ignore[union-attr]


def test_challtestsrv_dns(challtestsrv: ChallTestSrv) -> None:
    assert query(challtestsrv.dns_address, "anything.example.org") == ["127.0.0.1"]
    challtestsrv.add_a("second.example.org", "127.0.0.2")
    assert query(challtestsrv.dns_address, "second.example.org") == ["127.0.0.2"]
    challtestsrv.set_txt("_acme-challenge.second.example.org", "value-1")
    assert query(challtestsrv.dns_address, "_acme-challenge.second.example.org", TXT) == ["value-1"]
    challtestsrv.clear_txt("_acme-challenge.second.example.org")
    assert query(challtestsrv.dns_address, "_acme-challenge.second.example.org", TXT) == []
    challtestsrv.clear_a("second.example.org")


def test_nginx_serves_challenge_files(nginx_challenges: Nginx, http01_webroot: Path, tmp_path: Path) -> None:
    (http01_webroot / "tok-1").write_text("tok-1.thumb")
    (http01_webroot / "tok-1").chmod(0o600)  # as the engine's store writes them
    resp = requests.get(nginx_challenges.challenge_url("tok-1"), timeout=5)
    assert (resp.status_code, resp.text) == (200, "tok-1.thumb")
    assert requests.get(f"{nginx_challenges.url}/other", timeout=5).status_code == 404
    nginx_challenges.serve(tmp_path / "elsewhere")  # re-pointed: the old token is gone
    assert requests.get(nginx_challenges.challenge_url("tok-1"), timeout=5).status_code == 404


def _served_serial(port: int, ca: Path) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    with ctx.wrap_socket(
        __import__("socket").create_connection(("127.0.0.1", port), 5), server_hostname="localhost"
    ) as s:
        der = s.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_nginx_tls_site_and_reload(tmp_path: Path) -> None:
    ca = TestCA()
    ca_file = ca.write_ca(tmp_path / "ca.pem")
    crt, key = ca.write_server_files(tmp_path, ["localhost"], "site")
    site = TlsSite(cert=crt, key=key)
    with Nginx(tmp_path / "nginx", tls_sites=[site], binary=need(NGINX)) as nginx:
        first = _served_serial(site.port, ca_file)
        assert first == x509.load_pem_x509_certificate(crt.read_bytes()).serial_number
        ca.write_server_files(tmp_path, ["localhost"], "site")  # a renewal overwrites in place
        nginx.reload()
        assert _served_serial(site.port, ca_file) not in (first,)


def test_http01_through_nginx(pebble: Pebble, http01_webroot: Path) -> None:
    def solve(_type: str, _domain: str, token: str, key_authz: str) -> None:
        (http01_webroot / token).write_text(key_authz)

    chain = MiniAcme(pebble.directory_url, pebble.ca_bundle).issue(["web.example.org"], solve)
    leaf, inter = _certs(chain)[:2]
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["web.example.org"]
    _check_signed_by(leaf, inter)
    _check_signed_by(inter, x509.load_pem_x509_certificate(pebble.root_pem().encode()))


@pytest.fixture
def standalone_responder(pebble_standalone: Pebble) -> Iterator[dict[str, str]]:
    """What the engine's standalone solver will do: answer on pebble's http_port itself."""
    answers: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            body = answers.get(self.path.rsplit("/", 1)[-1], "").encode()
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", pebble_standalone.http_port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield answers
    server.shutdown()
    server.server_close()


def test_http01_standalone(pebble_standalone: Pebble, standalone_responder: dict[str, str]) -> None:
    def solve(_type: str, _domain: str, token: str, key_authz: str) -> None:
        standalone_responder[token] = key_authz

    chain = MiniAcme(pebble_standalone.directory_url, pebble_standalone.ca_bundle).issue(
        ["sa.example.org"], solve
    )
    assert len(_certs(chain)) >= 2


def test_dns01_via_challtestsrv(pebble_standalone: Pebble, challtestsrv: ChallTestSrv) -> None:
    def solve(_type: str, domain: str, _token: str, key_authz: str) -> None:
        challtestsrv.set_txt(f"_acme-challenge.{domain}", dns01_value(key_authz))

    client = MiniAcme(pebble_standalone.directory_url, pebble_standalone.ca_bundle)
    chain = client.issue(["*.wild.example.org"], solve, challenge_type="dns-01")
    challtestsrv.clear_txt("_acme-challenge.wild.example.org")
    assert len(_certs(chain)) >= 2


def test_eab_is_required(pebble_eab: Pebble) -> None:
    resp = MiniAcme(pebble_eab.directory_url, pebble_eab.ca_bundle).register()
    assert resp.status_code >= 400
    assert resp.json()["type"] == "urn:ietf:params:acme:error:externalAccountRequired"
    assert pebble_eab.eab_keys


def test_fault_injection_env_reaches_pebble(pebble_factory: PebbleFactory) -> None:
    alt = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
    roots = alt.roots()
    assert len(roots) == 2 and roots[0] != roots[1]
    assert "reject 0% of good nonces" in alt.tail(200)


def _ari_cert_id(cert: x509.Certificate) -> str:
    """RFC 9773 CertID: base64url(AKI keyIdentifier) "." base64url(DER serial content)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki is not None
    serial = cert.serial_number
    serial_bytes = serial.to_bytes(serial.bit_length() // 8 + 1, "big")  # +1 keeps the sign bit 0
    return f"{b64(aki)}.{b64(serial_bytes)}"


def test_sid_pebble_has_ari_and_profiles(pebble_ari: Pebble, http01_webroot: Path) -> None:
    client = MiniAcme(pebble_ari.directory_url, pebble_ari.ca_bundle)
    assert "renewalInfo" in client.directory
    assert set(client.directory["meta"]["profiles"]) == {"default", "shortlived"}

    def solve(_type: str, _domain: str, token: str, key_authz: str) -> None:
        (http01_webroot / token).write_text(key_authz)

    leaf = _certs(client.issue(["ari.example.org"], solve, profile="shortlived"))[0]
    # *_utc exist from cryptography 42 on; Debian's 38 has only the naive properties.
    after = getattr(leaf, "not_valid_after_utc", None) or leaf.not_valid_after
    before = getattr(leaf, "not_valid_before_utc", None) or leaf.not_valid_before
    lifetime = after - before
    assert lifetime.total_seconds() <= 518400 + 60
    resp = requests.get(
        f"{client.directory['renewalInfo']}/{_ari_cert_id(leaf)}", verify=pebble_ari.ca_bundle, timeout=5
    )
    assert resp.status_code == 200, resp.text
    assert {"start", "end"} <= set(resp.json()["suggestedWindow"])
    assert resp.headers.get("Retry-After")
