"""http-01 solvers: webroot token files and the standalone listener (real loopback HTTP)."""

from __future__ import annotations

import os
import socket
import stat
import urllib.error
import urllib.request

import pytest

from mdcore.challenges.base import ChallengeTask
from mdcore.challenges.http01 import LISTENERS, StandaloneSolver, WebrootSolver
from mdcore.errors import ChallengeError

TASK = ChallengeTask("www.example.org", "tok_EN-123", "tok_EN-123.thumb")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_webroot_writes_0644_token_and_removes_it(tmp_path) -> None:
    folder = str(tmp_path / "challenges")
    solver = WebrootSolver(folder)
    solver.setup(TASK)
    path = os.path.join(folder, TASK.token)
    with open(path) as handle:
        assert handle.read() == TASK.key_authorization
    assert _mode(path) == 0o644 and _mode(folder) == 0o755
    solver.teardown(TASK)
    assert os.listdir(folder) == []
    solver.teardown(TASK)  # twice is fine


@pytest.mark.parametrize("token", ["../../etc/passwd", "a/b", "", ".hidden", "tok en", "tok%2e"])
def test_webroot_rejects_invalid_tokens(tmp_path, token: str) -> None:
    folder = tmp_path / "challenges"
    with pytest.raises(ChallengeError, match="invalid http-01 token"):
        WebrootSolver(str(folder)).setup(ChallengeTask("x.example", token, token + ".t"))
    assert not folder.exists() or os.listdir(folder) == []
    assert not (tmp_path / "etc").exists()


def test_webroot_unwritable_folder(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ChallengeError, match="cannot write http-01 token into"):
        WebrootSolver(str(tmp_path / "file" / "sub")).setup(TASK)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, token: str) -> tuple[int, bytes]:
    try:
        with NO_PROXY.open(
            "http://127.0.0.1:%d/.well-known/acme-challenge/%s" % (port, token), timeout=5
        ) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_standalone_serves_the_token_over_loopback() -> None:
    port = _free_port()
    solver = StandaloneSolver("127.0.0.1", port)
    try:
        solver.setup(TASK)
        assert _get(port, TASK.token) == (200, TASK.key_authorization.encode())
        assert _get(port, "other")[0] == 404
        solver.teardown(TASK)
        assert _get(port, TASK.token)[0] == 404
    finally:
        solver.close()
    with pytest.raises(urllib.error.URLError):
        _get(port, TASK.token)


def test_standalone_listener_is_shared_by_parallel_orders() -> None:
    port = _free_port()
    first, second = StandaloneSolver("127.0.0.1", port), StandaloneSolver("127.0.0.1", port)
    other = ChallengeTask("b.example.org", "tok2", "tok2.thumb")
    try:
        first.setup(TASK)
        second.setup(other)
        first.close()
        assert _get(port, other.token) == (200, b"tok2.thumb")  # still served for the second order
    finally:
        first.close()
        second.close()
    with pytest.raises(urllib.error.URLError):
        _get(port, other.token)


def test_standalone_port_busy() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        solver = StandaloneSolver("127.0.0.1", busy.getsockname()[1])
        with pytest.raises(ChallengeError, match="cannot listen on 127.0.0.1:%d" % busy.getsockname()[1]):
            solver.setup(TASK)
        solver.close()


def test_standalone_rejects_invalid_token() -> None:
    solver = StandaloneSolver("127.0.0.1", _free_port())
    try:
        with pytest.raises(ChallengeError):
            solver.setup(ChallengeTask("x.example", "../x", "y"))
    finally:
        solver.close()


def test_standalone_answers_every_token_for_a_forked_order_process() -> None:
    """While an order process of the run works (mdcore/orderfork.py), the listener answers any
    well-formed token with its key authorization for the shared account key; after, only its own."""
    port = _free_port()
    listener = LISTENERS.acquire("127.0.0.1", port)
    try:
        listener.answer_all("thumb")
        assert _get(port, "forked_TOKEN-1") == (200, b"forked_TOKEN-1.thumb")
        assert _get(port, "bad%2e.token")[0] == 404  # never a body for what is no token
        listener.answer_all(None)
        assert _get(port, "forked_TOKEN-1")[0] == 404
    finally:
        LISTENERS.release("127.0.0.1", port)


def test_standalone_says_when_the_ca_fetched_the_answer() -> None:
    """Solver.watch: an order looks at its authorization once the CA fetched the answer (from each
    vantage point) instead of after a fixed wait; a wait without a new fetch says so when its time
    is up, and a fetch is reported once."""
    port = _free_port()
    solver = StandaloneSolver("127.0.0.1", port)
    unfetched = ChallengeTask("b.example.org", "tok2", "tok2.thumb")
    try:
        solver.setup(TASK)
        solver.setup(unfetched)
        assert solver.watch(unfetched).wait(0.0) is False  # no fetch: False at once, no real wait
        watch = solver.watch(TASK)
        for _vantage_point in range(3):
            assert _get(port, TASK.token)[0] == 200
        assert watch.wait(5.0) is True
        assert watch.wait(0.0) is False  # no new fetch since
        assert _get(port, TASK.token)[0] == 200  # a late vantage point
        assert watch.wait(5.0) is True
        assert solver.watch(ChallengeTask("c.example.org", "tok3", "x")) is None  # not its token
    finally:
        solver.close()
    assert WebrootSolver("/nonexistent").watch(TASK) is None  # the web server serves: cannot tell


def test_a_fetch_is_relayed_for_a_forked_order_process() -> None:
    """Every token the listener served goes to its relay (orderfork.FetchRelay), its own and the
    order process's (answer_all) alike."""
    port = _free_port()
    listener = LISTENERS.acquire("127.0.0.1", port)
    relayed: list[str] = []
    try:
        listener.answer_all("thumb")
        listener.relay = relayed.append
        assert _get(port, "forked_TOKEN-1")[0] == 200
        assert _get(port, "bad%2e.token")[0] == 404
        assert relayed == ["forked_TOKEN-1"]
    finally:
        listener.relay = None
        listener.answer_all(None)
        LISTENERS.release("127.0.0.1", port)
