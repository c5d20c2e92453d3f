"""A scriptable OCSP responder for hostile and broken cases (cryptography's OCSPResponseBuilder
behind http.server), listening on 127.0.0.1 only, in a thread of the test process.

Set ``mode`` (one of :class:`Fault`) between requests; ``requests`` counts what arrived.
"""

from __future__ import annotations

import datetime
import os
import threading
from http.server import ThreadingHTTPServer

from cryptography.x509 import ocsp

from . import ocsp_http
from .ocsp_pki import UTC, OcspTestCA, unsuccessful_der


class Fault:
    TRUTH = "truth"  # a correct response signed by the CA (what the CA's records say)
    DELEGATED = "delegated"  # a correct response signed by a delegated responder certificate
    GARBAGE = "garbage"  # 200 with bytes that are no OCSP response
    HTTP_500 = "http500"
    WRONG_KEY = "wrong-key"  # claims to be the issuer, signed by another key
    ROGUE_DELEGATE = "rogue-delegate"  # delegated certificate the issuer never signed
    DELEGATE_NO_EKU = "delegate-no-eku"  # issued by the CA, but without id-kp-OCSPSigning
    OTHER_CERT = "other-cert"  # a valid response about another certificate of the same CA
    EXPIRED = "expired"  # nextUpdate in the past
    FUTURE = "future"  # thisUpdate a day ahead
    NO_NEXT_UPDATE = "no-next-update"
    TRY_LATER = "try-later"  # responseStatus tryLater
    UNKNOWN = "unknown"  # certStatus unknown
    OLDER = "older"  # valid, but thisUpdate older than anything fetched before
    HANG = "hang"  # accepts, reads the request, never answers (until stopped)


class FaultResponder:
    def __init__(self, ca: OcspTestCA, mode: str = Fault.TRUTH, lifetime: datetime.timedelta | None = None,
                 now=None) -> None:
        """``now``: a callable giving the time responses are made at (a FakeClock's now in unit
        tests); default the real time."""
        self.ca = ca
        self.now = now or (lambda: datetime.datetime.now(UTC))
        self.mode = mode
        self.lifetime = lifetime or datetime.timedelta(days=4)
        self.requests: list[str] = []  # the mode each request was answered in
        self.user_agents: list[str] = []
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._delegate = ca.issue_responder("Fault Delegate")
        self._no_eku = ca.issue_responder("Fault NoEKU", ocsp_signing=False)
        self._rogue_ca = OcspTestCA(os.path.join(ca.folder, "rogue"), name=ca.name)  # same name, other key
        self._rogue = self._rogue_ca.issue_responder("Rogue Delegate")

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/" % self._server.server_address[1]

    def start(self) -> FaultResponder:
        self._server = ocsp_http.serve(self._answer, name="ocsp-fault")
        return self

    def _answer(self, body: bytes, headers) -> tuple[int, bytes] | None:
        mode = self.mode
        self.requests.append(mode)
        self.user_agents.append(headers.get("User-Agent", ""))
        if mode == Fault.HANG:
            self._release.wait(120)
            return None
        return self.build(mode, body)

    def stop(self) -> None:
        self._release.set()
        ocsp_http.stop(self._server)
        self._server = None

    def __enter__(self) -> FaultResponder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- responses ---------------------------------------------------------------------------
    def leaf_for(self, body: bytes):
        req = ocsp.load_der_ocsp_request(body)
        for leaf in self.ca.leaves:
            if leaf.cert.serial_number == req.serial_number:
                return leaf
        return None

    def build(self, mode: str, body: bytes) -> tuple[int, bytes]:
        if mode == Fault.HTTP_500:
            return 500, b"internal error\n"
        if mode == Fault.GARBAGE:
            return 200, b"\x30\x03garbage, not DER" + os.urandom(16)
        if mode == Fault.TRY_LATER:
            return 200, unsuccessful_der(ocsp.OCSPResponseStatus.TRY_LATER)
        try:
            leaf = self.leaf_for(body)
        except ValueError:
            return 200, unsuccessful_der(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if leaf is None:
            return 200, unsuccessful_der(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        now = self.now().replace(microsecond=0)
        ca, life, made = self.ca, self.lifetime, now - datetime.timedelta(minutes=1)
        if mode == Fault.TRUTH:
            return 200, ca.response_der(leaf, this_update=made, lifetime=life)
        if mode == Fault.DELEGATED:
            return 200, ca.response_der(leaf, this_update=made, lifetime=life, signer=self._delegate[:2])
        if mode == Fault.ROGUE_DELEGATE:
            return 200, ca.response_der(leaf, this_update=made, lifetime=life, signer=self._rogue[:2])
        if mode == Fault.DELEGATE_NO_EKU:
            return 200, ca.response_der(leaf, this_update=made, lifetime=life, signer=self._no_eku[:2])
        if mode == Fault.WRONG_KEY:
            # names the issuer (by name) as responder, but signs with another key
            return 200, ca.response_der(leaf, this_update=made, lifetime=life,
                                        signer=(self._rogue_ca.cert, self._rogue_ca.key), certs=[])
        if mode == Fault.OTHER_CERT:
            other = next((x for x in ca.leaves if x is not leaf), None)
            if other is None:
                other = ca.issue("other.invalid", None)
            return 200, ca.response_der(other, this_update=made, lifetime=life)
        if mode == Fault.EXPIRED:
            return 200, ca.response_der(leaf, this_update=now - datetime.timedelta(days=3),
                                        next_update=now - datetime.timedelta(days=1))
        if mode == Fault.FUTURE:
            return 200, ca.response_der(leaf, this_update=now + datetime.timedelta(days=1), lifetime=life)
        if mode == Fault.NO_NEXT_UPDATE:
            return 200, ca.response_der(leaf, this_update=made, no_next_update=True)
        if mode == Fault.UNKNOWN:
            return 200, ca.response_der(leaf, this_update=made, status=ocsp.OCSPCertStatus.UNKNOWN,
                                        lifetime=life)
        if mode == Fault.OLDER:
            return 200, ca.response_der(leaf, this_update=now - life * 7 / 8, lifetime=life)
        raise ValueError("unknown fault mode %r" % mode)


__all__ = ["Fault", "FaultResponder"]
