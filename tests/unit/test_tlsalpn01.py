"""tls-alpn-01's validation certificate (RFC 8737 3, RFC 8738 6) and the standalone listener, checked
with a real TLS client on loopback as a CA's validator connects: SNI, ALPN acme-tls/1, read the
certificate, hang up."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl

import pytest
from cryptography import x509

from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.tlsalpn01 import (
    ACME_IDENTIFIER_OID,
    ACME_TLS_1,
    TlsAlpnSolver,
    sni_name,
    validation_certificate,
)
from mdcore.config import md_config_from_dict
from mdcore.errors import ChallengeError, ConfigError

KEYAUTH = "token123.thumbprint456"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def handshake(port: int, server_name: str, alpn: str = ACME_TLS_1) -> tuple[x509.Certificate, str | None]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # a validator checks the extension instead
    ctx.set_alpn_protocols([alpn])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=server_name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)), tls.selected_alpn_protocol()


def _acme_extension(cert: x509.Certificate) -> x509.Extension:
    return cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(ACME_IDENTIFIER_OID))


def test_validation_certificate_carries_the_key_authorization_digest():
    pem, _key = validation_certificate("www.example.org", KEYAUTH)
    cert = x509.load_pem_x509_certificate(pem)
    ext = _acme_extension(cert)
    assert ext.critical and ext.value.value == b"\x04\x20" + hashlib.sha256(KEYAUTH.encode()).digest()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.example.org"]


def test_ip_identifiers_use_an_ip_san_and_the_reverse_name():
    pem, _key = validation_certificate("192.0.2.7", KEYAUTH)
    san = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.7"]
    assert san.get_values_for_type(x509.DNSName) == []
    assert sni_name("192.0.2.7") == "7.2.0.192.in-addr.arpa"
    assert sni_name("2001:db8::1").endswith(".ip6.arpa") and sni_name("WWW.Example.org") == "www.example.org"


def test_listener_answers_each_identifier_by_sni_and_stops():
    port = _free_port()
    one, two = TlsAlpnSolver("127.0.0.1", port), TlsAlpnSolver("127.0.0.1", port)  # two orders at once
    a = ChallengeTask("a.example.org", "ta", "ta.thumb")
    b = ChallengeTask("127.0.0.1", "tb", "tb.thumb")
    try:
        one.setup(a)
        two.setup(b)
        folder = one._listener.folder
        assert oct(os.stat(folder).st_mode & 0o777) == "0o700" and os.listdir(folder) == []  # no key left on disk
        cert, alpn = handshake(port, "a.example.org")
        assert alpn == ACME_TLS_1
        assert _acme_extension(cert).value.value[2:] == hashlib.sha256(b"ta.thumb").digest()
        cert, _alpn = handshake(port, "1.0.0.127.in-addr.arpa")
        assert _acme_extension(cert).value.value[2:] == hashlib.sha256(b"tb.thumb").digest()
        with pytest.raises(ssl.SSLError):
            handshake(port, "unknown.example.org")  # no certificate for names we do not validate
        one.teardown(a)
        with pytest.raises(ssl.SSLError):
            handshake(port, "a.example.org")
        one.close()
        assert handshake(port, "1.0.0.127.in-addr.arpa")[1] == ACME_TLS_1  # still up for the other order
    finally:
        one.close()
        two.close()
    with pytest.raises(OSError):
        handshake(port, "1.0.0.127.in-addr.arpa")  # the last user closed it
    assert not os.path.exists(folder)


def test_busy_port_is_a_clear_challenge_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        solver = TlsAlpnSolver("127.0.0.1", busy.getsockname()[1])
        with pytest.raises(ChallengeError, match="cannot listen on 127.0.0.1:.* for tls-alpn-01"):
            solver.setup(ChallengeTask("a.example.org", "t", "t.k"))


def _cfg(**extra):
    return md_config_from_dict(dict({"domains": ["a.example.org"], "acme_directory": "https://ca.test/dir",
                                     "challenge": "tls-alpn-01"}, **extra))


def test_config():
    cfg = _cfg(tls_alpn_port=5001)
    assert cfg.challenge.type == "tls-alpn-01" and cfg.challenge.tls_alpn_port == 5001
    assert _cfg().challenge.tls_alpn_port == 443
    with pytest.raises(ConfigError, match="wildcard names need dns-01 or dns-persist-01, not tls-alpn-01"):
        _cfg(domains=["*.example.org"])
    with pytest.raises(ConfigError, match="tls_alpn_port: must be between 1 and 65535, not 70000"):
        _cfg(tls_alpn_port=70000)
