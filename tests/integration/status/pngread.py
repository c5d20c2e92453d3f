"""A small PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes), so the browser
tests can look at the colours a person sees without an imaging library."""

from __future__ import annotations

import struct
import zlib


class Png:
    def __init__(self, data: bytes) -> None:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError("not a PNG")
        pos, idat = 8, []
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            if kind == b"IHDR":
                self.width, self.height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
                if depth != 8 or colour not in (2, 6) or interlace:
                    raise ValueError("unsupported PNG: depth %d colour type %d" % (depth, colour))
                self.bpp = 3 if colour == 2 else 4
            elif kind == b"IDAT":
                idat.append(body)
            pos += 12 + length
        raw = zlib.decompress(b"".join(idat))
        stride = self.width * self.bpp
        rows: list[bytearray] = []
        prev = bytearray(stride)
        bpp = self.bpp
        for y in range(self.height):
            start = y * (stride + 1)
            kind = raw[start]
            line = bytearray(raw[start + 1:start + 1 + stride])
            if kind == 1:
                for i in range(bpp, stride):
                    line[i] = (line[i] + line[i - bpp]) & 0xFF
            elif kind == 2:
                line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
            elif kind == 3:
                for i in range(stride):
                    left = line[i - bpp] if i >= bpp else 0
                    line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
            elif kind == 4:
                for i in range(stride):
                    a = line[i - bpp] if i >= bpp else 0
                    b = prev[i]
                    c = prev[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    line[i] = (line[i] + pred) & 0xFF
            rows.append(line)
            prev = line
        self.rows = rows

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = x * self.bpp
        row = self.rows[y]
        return row[i], row[i + 1], row[i + 2]

    def column(self, x: int) -> list[tuple[int, int, int]]:
        return [self.pixel(x, y) for y in range(self.height)]

    def count(self, colour: tuple[int, int, int]) -> int:
        target = bytes(colour)
        total = 0
        for row in self.rows:
            for i in range(0, len(row), self.bpp):
                if row[i:i + 3] == target:
                    total += 1
        return total


def read_png(path: str) -> Png:
    with open(path, "rb") as handle:
        return Png(handle.read())
