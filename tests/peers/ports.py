"""Free loopback ports.

The kernel picks an unused port; we remember what we handed out in this process so two peers
started back to back never get the same number (the kernel may reuse a just-closed port).
"""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def _bindable(port: int, kind: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", udp_too: bool = False, also_on: tuple[str, ...] = ()) -> int:
    """A port free on `host` for TCP (and UDP too, for DNS servers listening on both), and on
    the `also_on` addresses as well (a primary and its secondary on one port, 127.0.0.1 and .2)."""
    for _attempt in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port: int = s.getsockname()[1]
        if port in _handed_out:
            continue
        if udp_too and not _bindable(port, socket.SOCK_DGRAM, host):
            continue
        if not all(_bindable(port, socket.SOCK_STREAM, other) and (not udp_too or
                                                                   _bindable(port, socket.SOCK_DGRAM, other))
                   for other in also_on):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port found on {host}")
