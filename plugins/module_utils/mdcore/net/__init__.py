"""The engine's network layer: one HTTP/1.1 client (client.py) with total deadlines, keep-alive
connections shared by threads, TLS and http:// proxies, for the ACME side and for stapling alike.
wire.py reads and writes HTTP/1.1 on a socket; reply.py holds the interface (Transport,
HttpReply) and the error (HttpFailure)."""

from .client import HttpClient
from .reply import Headers, HttpFailure, HttpReply, HttpTimeout, Transport

__all__ = ["HttpClient", "Headers", "HttpFailure", "HttpReply", "HttpTimeout", "Transport"]
