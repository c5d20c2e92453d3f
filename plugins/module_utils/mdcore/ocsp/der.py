"""Just enough DER to read two fields that cryptography 38 only hands out as parsed x509.Name
objects (about 10 us each to build, and two per comparison): a certificate's issuer name and an
OCSP response's ResponderID. Comparing their bytes is how a certificate finds its issuer and a
response its signer; where the bytes differ the callers compare Name objects as before, so an
equal name in another encoding still matches."""

from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
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


def serial_and_issuer(certificate: bytes) -> tuple[bytes, bytes]:
    """(serialNumber's content octets, the issuer Name's whole DER) of a DER Certificate. Only a
    positive serial in its shortest form is accepted (RFC 5280 4.1.2.2), so that the request
    built from these octets is the one cryptography builds from the parsed certificate."""
    tag, pos, _end = element(certificate, 0)
    if tag != SEQUENCE:
        raise DerError("not a Certificate")
    tag, start, end = element(certificate, pos)
    if tag != SEQUENCE:
        raise DerError("no TBSCertificate")
    tbs = certificate[pos:end]
    pos, _end = _fields(tbs)
    tag, start, end = element(tbs, pos)
    serial = tbs[start:end]
    if tag != INTEGER or not serial or serial[0] & 0x80 or (len(serial) > 1 and serial[0] == 0 and serial[1] < 0x80):
        raise DerError("serialNumber is not a positive INTEGER in its shortest form")
    pos = element(tbs, end)[2]  # signature
    tag, _start, end = element(tbs, pos)
    if tag != SEQUENCE:
        raise DerError("issuer is not a Name")
    return serial, tbs[pos:end]


def responder_name(tbs_response_data: bytes) -> bytes | None:
    """The Name (its whole DER) of a ResponseData's ResponderID byName; None for byKey."""
    pos, _end = _fields(tbs_response_data)
    tag, start, end = element(tbs_response_data, pos)
    if tag == BY_KEY_TAG:
        return None
    if tag != BY_NAME_TAG:
        raise DerError("no ResponderID")
    return tbs_response_data[start:end]


__all__ = ["DerError", "element", "tbs_issuer", "serial_and_issuer", "responder_name"]
