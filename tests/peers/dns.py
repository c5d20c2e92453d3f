"""A tiny DNS client (A and TXT over UDP) to check what challtestsrv answers.

Only for tests: pebble asks challtestsrv the same questions, so this shows what pebble sees.
"""

from __future__ import annotations

import secrets
import socket
import struct

A, TXT = 1, 16


def _encode_name(name: str) -> bytes:
    labels = name.rstrip(".").split(".")
    return b"".join(bytes([len(label)]) + label.encode() for label in labels) + b"\0"


def _skip_name(data: bytes, pos: int) -> int:
    while True:
        length = data[pos]
        if length >= 0xC0:  # compression pointer: two bytes, ends the name
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def query(server: str, name: str, qtype: int = A, timeout: float = 2.0) -> list[str]:
    """Answers for `name` from `server` ("127.0.0.1:port"): dotted IPs for A, strings for TXT."""
    host, port = server.rsplit(":", 1)
    qid = secrets.randbelow(65536)
    packet = (
        struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) + struct.pack(">HH", qtype, 1)
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (host, int(port)))
        data = sock.recv(4096)
    rid, _flags, qdcount, ancount = struct.unpack(">HHHH", data[:8])
    if rid != qid:
        raise OSError("DNS answer id mismatch")
    pos = 12
    for _question in range(qdcount):
        pos = _skip_name(data, pos) + 4
    answers = []
    for _answer in range(ancount):
        pos = _skip_name(data, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos : pos + 10])
        rdata = data[pos + 10 : pos + 10 + rdlen]
        pos += 10 + rdlen
        if rtype == A == qtype:
            answers.append(socket.inet_ntoa(rdata))
        elif rtype == TXT == qtype:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1 : i + 1 + rdata[i]].decode())
                i += 1 + rdata[i]
            answers.append("".join(parts))
    return answers
