"""Just enough DER to read two fields that cryptography 38 only hands out as parsed x509.Name
objects (about 10 us each to build, and two per comparison): a certificate's issuer name and an
OCSP response's ResponderID. Comparing their bytes is how a certificate finds its issuer and a
response its signer; where the bytes differ the callers compare Name objects as before, so an
equal name in another encoding still matches."""

from __future__ import annotations

SEQUENCE = 0x30
VERSION_TAG = 0xA0  # [0] EXPLICIT version, in TBSCertificate and ResponseData
BY_NAME_TAG = 0xA1  # ResponderID byName [1] EXPLICIT Name
BY_KEY_TAG = 0xA2  # ResponderID byKey [2] EXPLICIT KeyHash


class DerError(ValueError):
    """Bytes that are not the DER they must be."""


def element(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the content, end) of the element at ``pos``."""
    if pos + 2 > len(data):
        raise DerError("truncated element")
    tag, size = data[pos], data[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or pos + count > len(data):
            raise DerError("bad length")
        size = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + size > len(data):
        raise DerError("element longer than its container")
    return tag, pos, pos + size


def _fields(data: bytes) -> tuple[int, int]:
    """Start and end of the content of the SEQUENCE that ``data`` is, its [0] version skipped."""
    tag, pos, end = element(data, 0)
    if tag != SEQUENCE:
        raise DerError("not a SEQUENCE")
    tag, _start, after = element(data, pos)
    return (after if tag == VERSION_TAG else pos), end


def tbs_issuer(tbs_certificate: bytes) -> bytes:
    """The issuer Name (its whole DER) of a TBSCertificate: after serialNumber and signature."""
    pos, _end = _fields(tbs_certificate)
    for _skipped in ("serialNumber", "signature"):
        pos = element(tbs_certificate, pos)[2]
    tag, _start, end = element(tbs_certificate, pos)
    if tag != SEQUENCE:
        raise DerError("issuer is not a Name")
    return tbs_certificate[pos:end]


def responder_name(tbs_response_data: bytes) -> bytes | None:
    """The Name (its whole DER) of a ResponseData's ResponderID byName; None for byKey."""
    pos, _end = _fields(tbs_response_data)
    tag, start, end = element(tbs_response_data, pos)
    if tag == BY_KEY_TAG:
        return None
    if tag != BY_NAME_TAG:
        raise DerError("no ResponderID")
    return tbs_response_data[start:end]


__all__ = ["DerError", "element", "tbs_issuer", "responder_name"]
