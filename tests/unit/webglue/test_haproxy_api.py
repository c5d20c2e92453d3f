"""The one haproxy runtime API client: whole answers, one total deadline (a trickling peer does not
extend it), clear errors naming the address."""

from __future__ import annotations

import socket
import threading

import pytest

from mdcore.clock import FakeClock
from mdcore.webglue.haproxy_api import MAX_ANSWER, HaproxyApiError, command

from ..fakehaproxy import FakeHaproxy


def test_the_whole_answer_comes_back(tmp_path, clock):
    with FakeHaproxy(str(tmp_path / "s"), b"line 1\nline 2\n" * 5000) as fake:
        assert command(fake.path, b"show ssl cert", clock, 5.0) == "line 1\nline 2\n" * 5000
    assert fake.commands == [b"show ssl cert\n"]


def test_a_trickling_peer_is_cut_off_at_the_total_deadline(tmp_path):
    clock = FakeClock()
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def trickle():
        conn = server.accept()[0]
        conn.recv(100)
        try:
            while True:  # one byte per "second" of the fake clock, forever
                clock.advance(1.0)
                conn.sendall(b"x")
        except OSError:
            conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    with pytest.raises(HaproxyApiError, match=r"haproxy runtime API .*/s did not answer within 3s"):
        command(path, b"show info", clock, 3.0)
    server.close()


def test_a_silent_peer_times_out(tmp_path, clock):
    released = threading.Event()  # the peer answers nothing until the client has given up

    def silent(line: bytes) -> bytes:
        released.wait(60)
        return b""

    with FakeHaproxy(str(tmp_path / "s"), silent) as fake:
        with pytest.raises(HaproxyApiError, match="did not answer within 0.05s"):
            command(fake.path, b"show info", clock, 0.05)
        released.set()


def test_an_endless_answer_is_refused(tmp_path, clock):
    with FakeHaproxy(str(tmp_path / "s"), b"y" * (MAX_ANSWER + 10)) as fake:
        with pytest.raises(HaproxyApiError, match="answer longer than"):
            command(fake.path, b"show info", clock, 5.0)


@pytest.mark.parametrize("address, message", [
    ("/nonexistent/admin.sock", "haproxy runtime API /nonexistent/admin.sock: No such file or directory"),
    ("unix@/nonexistent/admin.sock", "haproxy runtime API unix@/nonexistent/admin.sock: No such file"),
    ("admin-sock", "haproxy runtime API admin-sock: 'admin-sock' is neither a socket path nor host:port"),
])
def test_unreachable_addresses_are_named(address, message, clock):
    with pytest.raises(HaproxyApiError) as err:
        command(address, b"show info", clock, 1.0)
    assert str(err.value).startswith(message)


def test_host_and_port(clock):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with pytest.raises(HaproxyApiError, match="haproxy runtime API ipv4@127.0.0.1:%d: Connection refused" % port):
        command("ipv4@127.0.0.1:%d" % port, b"show info", clock, 1.0)
