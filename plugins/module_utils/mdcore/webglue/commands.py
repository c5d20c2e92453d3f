"""`mdfleet webglue sync` and `mdfleet webglue reload`: what the engine's reload runs for nginx and
haproxy (config.json's reload.test_command / reload_command), and the role's handler too."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from ..clock import Clock
from ..errors import MdError
from ..store import Store
from .active import active_sets
from .config import GlueConfig, Server
from .haproxy import sync_haproxy, wait_served
from .nginx import sync_nginx
from .staples import StapleCheck

EXIT_NOT_SERVED = 1  # the reload ran but haproxy does not serve the new certificates in time


@dataclass
class SyncResult:
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. why no staple is served


def sync_files(cfg: GlueConfig, clock: Clock) -> SyncResult:
    """Write the web server's files from the store's active sets (nothing for apache2/none)."""
    result = SyncResult()
    if cfg.server not in (Server.NGINX, Server.HAPROXY):
        return result
    store = Store(cfg.store, clock)
    sets = active_sets(store)
    check = StapleCheck(store)
    if check.problem:
        result.notes.append("no staple is served: %s" % check.problem)
    if cfg.server == Server.NGINX:
        sync_nginx(cfg, sets, check, clock.now(), result.changed)
    else:
        sync_haproxy(cfg, sets, check, clock.now(), result.changed)
    return result


def run_command(argv: list[str]) -> int:
    """The web server's own command (argument list, never a shell); its exit code. Its output goes
    where ours goes: the engine's reload reports the last line of it."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode
    except FileNotFoundError:
        raise MdError("%s: command not found" % argv[0]) from None
    except OSError as exc:
        raise MdError("cannot run %s: %s" % (argv[0], exc.strerror or exc)) from None


def reload_and_wait(cfg: GlueConfig, clock: Clock, seconds: float) -> tuple[int, list[str]]:
    """Run the reload command; for haproxy with a socket, wait until it serves every crt file's
    serial. Returns (exit code, files not served in time)."""
    if not cfg.reload_command:
        return 0, []
    code = run_command(cfg.reload_command)
    if code != 0 or cfg.server != Server.HAPROXY:
        return code, []
    missing = wait_served(cfg, active_sets(Store(cfg.store, clock)), clock, seconds)
    return (EXIT_NOT_SERVED if missing else 0), missing


__all__ = ["SyncResult", "sync_files", "run_command", "reload_and_wait", "EXIT_NOT_SERVED"]
