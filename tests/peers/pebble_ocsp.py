"""An OCSP responder for pebble's certificates: it answers what pebble's records say.

Pebble puts an ``ocspResponderURL`` into the certificates it issues but serves no OCSP itself.
This responder (127.0.0.1 only, a thread) looks the requested serial up on pebble's management
API (/cert-status-by-serial/<hex>: the certificate and Valid/Revoked) and signs the answer with
pebble's intermediate key (/intermediate-keys/0), so a response is signed by the real issuer.
Unknown serials get ``unauthorized`` (RFC 6960), as a real CA answers for names it never issued.

Works with cryptography 38 (Debian 12) and newer: the builder needs the certificate itself,
which pebble returns with the status.
"""

from __future__ import annotations

import base64
import datetime
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

UTC = datetime.timezone.utc
REASONS = {0: x509.ReasonFlags.unspecified, 1: x509.ReasonFlags.key_compromise,
           3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
           5: x509.ReasonFlags.cessation_of_operation}


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def _naive(value: datetime.datetime) -> datetime.datetime:
    # cryptography 38's builders want naive UTC datetimes
    return value.astimezone(UTC).replace(tzinfo=None)


class PebbleOcspResponder:
    """``lookup(serial_hex) -> dict | None`` returns pebble's status document for a serial."""

    def __init__(self, issuer_pem: bytes, issuer_key_pem: bytes, lookup, port: int = 0,
                 lifetime: datetime.timedelta = datetime.timedelta(hours=4)) -> None:
        self.issuer = x509.load_pem_x509_certificate(issuer_pem)
        self.issuer_key = serialization.load_pem_private_key(issuer_key_pem, password=None)
        self.lookup = lookup
        self.port = port
        self.lifetime = lifetime
        self.answered = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/" % self._server.server_address[1]

    def respond(self, body: bytes) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(body)
        except ValueError:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        doc = self.lookup("%x" % request.serial_number)
        if not doc or not doc.get("Certificate"):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        cert = x509.load_pem_x509_certificate(doc["Certificate"].encode())
        now = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(minutes=1)
        revoked = str(doc.get("Status", "")).lower() == "revoked"
        revoked_at = now
        if revoked and doc.get("RevokedAt"):
            try:
                revoked_at = datetime.datetime.fromisoformat(str(doc["RevokedAt"])[:19]).replace(tzinfo=UTC)
            except ValueError:
                pass
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.issuer, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=_naive(now), next_update=_naive(now + self.lifetime),
            revocation_time=_naive(revoked_at) if revoked else None,
            revocation_reason=REASONS.get(int(doc.get("Reason") or 0)) if revoked else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuer)
        return builder.sign(self.issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def start(self) -> PebbleOcspResponder:
        responder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(self.rfile.read(length))

            def do_GET(self):
                try:
                    body = base64.b64decode(urllib.parse.unquote(self.path.lstrip("/")))
                except ValueError:
                    body = b""
                self._answer(body)

            def _answer(self, body: bytes):
                try:
                    payload = responder.respond(body)
                except Exception:  # a test peer answers, whatever pebble said
                    payload = _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
                responder.answered += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="pebble-ocsp", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = ["PebbleOcspResponder"]
