"""tls-alpn-01 (RFC 8737; IP identifiers: RFC 8738): the engine's own TLS listener answers the
CA's ``acme-tls/1`` handshakes with a self-signed certificate for the identifier that carries the
SHA-256 of the key authorization in the critical acmeIdentifier extension. For hosts where nothing
else holds port 443 while a certificate is ordered, or behind a proxy that routes the
``acme-tls/1`` ALPN protocol to it (haproxy: ``req.ssl_alpn``)."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import select
import shutil
import socket
import ssl
import tempfile
import threading

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
except ImportError:  # reported by deps.missing_libraries(); see deps.py
    pass

from ..errors import ChallengeError
from ..keys import general_name, generate_key, key_to_pem
from ..keytypes import key_spec
from .base import ChallengeTask
from .shared import SharedListeners, SharedListenerSolver

ACME_TLS_1 = "acme-tls/1"
ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31"  # id-pe-acmeIdentifier
HANDSHAKE_SECONDS = 10.0  # one validation connection; the CA's own timeout is shorter
ACCEPT_POLL = 0.1  # how often the accept loop looks whether it should stop


def sni_name(identifier: str) -> str:
    """The server name the CA sends: the DNS name, or for an IP address its reverse-DNS name
    (RFC 8738 6: 1.0.0.127.in-addr.arpa)."""
    try:
        return ipaddress.ip_address(identifier).reverse_pointer
    except ValueError:
        return identifier.lower()


def validation_certificate(identifier: str, key_authorization: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of the RFC 8737 3 validation certificate for ``identifier``."""
    key = generate_key(key_spec("p256"))
    digest = hashlib.sha256(key_authorization.encode()).digest()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mdfleet tls-alpn-01")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([general_name(identifier)]), critical=False)
        # extnValue is the DER OCTET STRING of the digest (RFC 8737 3: Authorization ::= OCTET STRING (SIZE (32)))
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(ACME_IDENTIFIER_OID),
                                                  b"\x04\x20" + digest), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_to_pem(key)


class _TlsAlpnListener:
    """The TLS listener of one address:port: a context per identifier, chosen by SNI."""

    def __init__(self, address: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((address, port))
            self.sock.listen(128)  # several vantage points per challenge, several orders at once
        except OSError as exc:
            self.sock.close()
            raise ChallengeError("cannot listen on %s:%d for tls-alpn-01: %s"
                                 % (address, port, exc.strerror)) from None
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.folder = tempfile.mkdtemp(prefix="mdfleet-tlsalpn-")  # 0700: the validation keys
        self.stopping = threading.Event()
        self.default = self._context()
        self.default.sni_callback = self._choose
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _context() -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols([ACME_TLS_1])
        return ctx

    def add(self, task: ChallengeTask) -> None:
        cert_pem, key_pem = validation_certificate(task.domain, task.key_authorization)
        name = sni_name(task.domain)
        stem = os.path.join(self.folder, hashlib.sha256(name.encode()).hexdigest()[:16])
        ctx = self._context()
        try:
            # ssl loads keys only from files: 0600 in our 0700 folder, gone once loaded
            with open(os.open(stem + ".pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
                handle.write(cert_pem + key_pem)
            ctx.load_cert_chain(stem + ".pem")
        except (OSError, ssl.SSLError) as exc:
            raise ChallengeError("cannot load the tls-alpn-01 certificate for %s: %s" % (task.domain, exc)) from None
        finally:
            try:
                os.unlink(stem + ".pem")
            except FileNotFoundError:
                pass
        self.contexts[name] = ctx

    def remove(self, task: ChallengeTask) -> None:
        self.contexts.pop(sni_name(task.domain), None)

    def _choose(self, conn: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext):
        ctx = self.contexts.get((server_name or "").lower())
        if ctx is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        conn.context = ctx
        return None

    def _serve(self) -> None:
        while not self.stopping.is_set():
            ready, _w, _x = select.select([self.sock], [], [], ACCEPT_POLL)
            if not ready:
                continue
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn: socket.socket) -> None:
        conn.settimeout(HANDSHAKE_SECONDS)  # a peer that stalls the handshake is dropped
        try:
            # the handshake is all the CA needs: it reads the certificate and hangs up
            self.default.wrap_socket(conn, server_side=True).close()
        except (OSError, ValueError):
            pass  # a failed or foreign handshake: the CA tries again or reports it
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5 * ACCEPT_POLL + 1)
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_LISTENERS: SharedListeners[_TlsAlpnListener] = SharedListeners(_TlsAlpnListener, _TlsAlpnListener.close)


class TlsAlpnSolver(SharedListenerSolver):
    """Answers tls-alpn-01 itself on ``address:port`` while an order is validated."""

    challenge_type = "tls-alpn-01"
    listeners = _LISTENERS
    default_port = 443


__all__ = ["TlsAlpnSolver", "validation_certificate", "sni_name", "ACME_TLS_1", "ACME_IDENTIFIER_OID"]
