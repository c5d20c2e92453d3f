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

import datetime
from http.server import ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from . import ocsp_http
from .ocsp_pki import unsuccessful_der

UTC = datetime.timezone.utc
REASONS = {0: x509.ReasonFlags.unspecified, 1: x509.ReasonFlags.key_compromise,
           3: x509.ReasonFlags.affiliation_changed, 4: x509.ReasonFlags.superseded,
           5: x509.ReasonFlags.cessation_of_operation}


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
            return unsuccessful_der(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        doc = self.lookup("%x" % request.serial_number)
        if not doc or not doc.get("Certificate"):
            return unsuccessful_der(ocsp.OCSPResponseStatus.UNAUTHORIZED)
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
        self._server = ocsp_http.serve(self._answer, self.port, name="pebble-ocsp")
        return self

    def _answer(self, body: bytes, _headers) -> tuple[int, bytes]:
        try:
            payload = self.respond(body)
        except Exception:  # a test peer answers, whatever pebble said
            payload = unsuccessful_der(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
        self.answered += 1
        return 200, payload

    def stop(self) -> None:
        ocsp_http.stop(self._server)
        self._server = None


__all__ = ["PebbleOcspResponder"]
