"""A threaded TCP server on 127.0.0.1 for scripted peers (slow_peer.py, http_proxy.py): a free
port, an accept loop in a thread, one thread per connection, a stop that ends them all."""

from __future__ import annotations

import socket
import threading


class LoopbackServer:
    name = "loopback-server"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name=self.name, daemon=True)

    def start(self):
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join(5)
        self._stopping()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._accepted(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- for subclasses ------------------------------------------------------------------------
    def _accepted(self, conn: socket.socket) -> None:
        """Called in the accept loop for every new connection."""

    def _stopping(self) -> None:
        """Called by stop() after the accept loop ended, before the connection threads are joined."""

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError
