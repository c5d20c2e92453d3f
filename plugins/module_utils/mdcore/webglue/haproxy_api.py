"""haproxy's runtime API (the stats socket, `level admin`): one command per connection, its answer,
every exchange under one deadline from the injected Clock. Used by OCSP's live staple updates
(`set ssl ocsp-response`) and by the reload wait (`show ssl cert <file>`)."""

from __future__ import annotations

import socket

from ..clock import Clock, Deadline
from ..errors import NetworkError

MAX_ANSWER = 1024 * 1024  # `show ssl cert` of one file is ~1 KiB; a runaway peer is cut off here


class HaproxyApiError(NetworkError):
    """The runtime API could not be reached or did not answer in time."""


def _connect(address: str, timeout: float) -> socket.socket:
    """A unix socket path (or unix@path) or host:port (ipv4@ and [v6] spellings as in haproxy.cfg)."""
    if address.startswith("/") or address.startswith("unix@"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address[5:] if address.startswith("unix@") else address
    else:
        if ":" not in address:
            raise OSError("%r is neither a socket path nor host:port" % address)
        host, port = address.replace("ipv4@", "").rsplit(":", 1)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    try:
        sock.settimeout(timeout)
        sock.connect(target)
    except BaseException:
        sock.close()
        raise
    return sock


def command(address: str, line: bytes, clock: Clock, seconds: float) -> str:
    """Send one command line to haproxy's runtime API at ``address``; return its whole answer
    (haproxy closes the connection after answering a command that ends with a newline).
    Raises HaproxyApiError when the socket cannot be reached or the answer takes longer than
    ``seconds`` in total (a peer trickling bytes does not extend it)."""
    deadline = Deadline(clock, seconds)
    reply = b""
    try:
        with _connect(address, max(0.001, deadline.remaining())) as sock:
            sock.sendall(line.rstrip(b"\n") + b"\n")
            sock.shutdown(socket.SHUT_WR)
            while True:
                if deadline.expired():
                    raise TimeoutError
                sock.settimeout(max(0.001, deadline.remaining()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
                if len(reply) > MAX_ANSWER:
                    raise HaproxyApiError("haproxy runtime API %s: answer longer than %d bytes"
                                          % (address, MAX_ANSWER))
    except TimeoutError:
        raise HaproxyApiError("haproxy runtime API %s did not answer within %gs" % (address, seconds)) from None
    except OSError as exc:
        raise HaproxyApiError("haproxy runtime API %s: %s" % (address, exc.strerror or exc)) from None
    return reply.decode("utf-8", "replace")


__all__ = ["command", "HaproxyApiError"]
