"""Base class of a peer: one child process, its log file, a startup deadline, clean shutdown."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from .errors import PeerError
from .wait import poll

# Peers alive in this process: the pytest hook shows their new log lines when a test fails.
RUNNING: list[Peer] = []

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A peer must not outlive a pytest that was killed (CI reuses the machine): ask the kernel
    # to SIGTERM the child when the parent goes. Best effort; Linux only.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Peer:
    """A server under test. Subclasses build argv/config and say when they are ready."""

    name = "peer"
    startup_timeout = 30.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.extra_logs: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Peer:
        raise NotImplementedError

    def _spawn(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, drop_env_prefix: str = ""
    ) -> None:
        """Start the process; `drop_env_prefix` removes inherited variables (e.g. "PEBBLE_") so
        a developer's shell cannot change what a test sees."""
        full_env = {
            k: v for k, v in os.environ.items() if not (drop_env_prefix and k.startswith(drop_env_prefix))
        }
        full_env.update(env or {})
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=full_env,
                preexec_fn=_die_with_parent,
            )
        RUNNING.append(self)

    def _wait_ready(self, check: Callable[[], object], what: str) -> None:
        """Poll `check` until truthy; fail fast with the log if the process exits meanwhile."""

        def alive_and_check() -> object:
            if self.proc is not None and self.proc.poll() is not None:
                raise PeerError(f"{self.name} exited with {self.proc.returncode} during startup", self.tail())
            try:
                return check()
            except OSError:
                return None

        try:
            # woken when it exits or writes its log (most print once they listen); a port that
            # opens silently is looked at again after poll's interval
            poll(alive_and_check, self.startup_timeout, f"{self.name}: {what}",
                 pid=self.proc.pid if self.proc is not None else None, watch=[self.workdir])
        except TimeoutError as exc:
            self.stop()
            raise PeerError(str(exc), self.tail()) from None

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if self in RUNNING:
            RUNNING.remove(self)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def __enter__(self) -> Peer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- logs ------------------------------------------------------------------------------
    def _logs(self) -> list[Path]:
        return [self.log_path, *self.extra_logs]

    def tail(self, lines: int = 60) -> str:
        out = []
        for path in self._logs():
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"== {path} ==\n" + "\n".join(text))
        return "\n".join(out)

    def mark(self) -> dict[Path, int]:
        """Current log sizes, to show later only what was written after this point."""
        return {p: p.stat().st_size if p.exists() else 0 for p in self._logs()}

    def since(self, mark: dict[Path, int], limit: int = 20000) -> str:
        out = []
        for path in self._logs():
            if not path.exists():
                continue
            with open(path, "rb") as f:
                f.seek(mark.get(path, 0))
                text = f.read().decode(errors="replace")
            if text:
                out.append(f"== {path} ==\n{text[-limit:]}")
        return "\n".join(out)
