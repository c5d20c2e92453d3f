"""A unix socket that answers like haproxy's runtime API, for unit tests of its client's users
(OCSP live updates, the webglue reload wait). Integration tests use a real haproxy."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class FakeHaproxy:
    """Records every command line; answers with ``answer``: bytes, or a function of the command
    line that returns bytes (it may also advance a FakeClock, or hang)."""

    def __init__(self, path: str, answer: bytes | Callable[[bytes], bytes] = b"OCSP Response updated!\n") -> None:
        self.path, self.answer = path, answer
        self.commands: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(5)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.commands.append(data)
                answer = self.answer(data) if callable(self.answer) else self.answer
                try:
                    conn.sendall(answer)
                except OSError:
                    pass  # the client gave up (its deadline): nothing to answer any more

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> FakeHaproxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
