"""The one exception the peers raise: carries the peer's log so a failure explains itself."""

from __future__ import annotations


class PeerError(RuntimeError):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(f"{message}\n--- peer log (tail) ---\n{log}" if log else message)
        self.log = log
