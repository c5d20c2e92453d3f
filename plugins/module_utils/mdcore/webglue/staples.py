"""Whether a staple file may be served: asked of the engine's staple book, not re-parsed.

The book (ocsp/staples.json) holds, per certificate, the response that stapling verified
(signature by the issuer or its delegated responder, CertID, thisUpdate/nextUpdate, status) with
the sha256 of the certificate it belongs to and of the response itself. A file is served when
the book's entry is for the certificate that is active now, still valid, says good or revoked
(an `unknown` answer is never served, as stapling itself does), and the file holds exactly the
response the book recorded. So a staple that stapling would not serve is never put into a
server's configuration, and the check parses no certificate or OCSP response at each reload.
"""

from __future__ import annotations

import datetime
import hashlib

from ..errors import MdError
from ..fsutil import read_bytes
from ..ocsp import persist
from ..ocsp.state import OcspStatus
from ..ocsp.subject import pem_der_sha256
from ..store import Store

SERVED_STATUSES = (OcspStatus.GOOD, OcspStatus.REVOKED)


class StapleCheck:
    """The book, read once (for every certificate of one sync); a book that cannot be read
    means no staple is served (and says why), never an unchecked one."""

    def __init__(self, store: Store) -> None:
        self.problem = ""
        try:
            self.entries = persist.stored_entries(store)
        except MdError as exc:
            self.entries, self.problem = {}, str(exc)

    def good(self, md: str, key_type: str, staple_path: str, cert_path: str, now: datetime.datetime) -> bool:
        """Whether ``staple_path`` holds the verified response for the active ``cert_path``."""
        state = persist.state_of(self.entries.get("%s/%s" % (md, key_type)))
        if state is None or state.status not in SERVED_STATUSES or not state.valid_at(now):
            return False
        try:
            cert, staple = read_bytes(cert_path), read_bytes(staple_path)
        except OSError:
            return False
        if not cert or not staple or pem_der_sha256(cert) != state.cert_sha256:
            return False
        return hashlib.sha256(staple).hexdigest() == state.response_sha256


__all__ = ["StapleCheck"]
