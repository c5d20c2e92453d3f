"""What every test of the fault suite needs: `mdfleet` as the timer runs it (a process of its own,
killable), a host config against pebble, and the checks of a store after a fault (consistent,
nothing wasted, no traceback)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mdcore.acme.account import AccountStore
from mdcore.acme.resources import Status
from mdcore.acme.transport import AcmeTransport, TransportOptions
from mdcore.clock import Clock, Deadline
from mdcore.fsutil import TEMP_PREFIX
from mdcore.state.fields import CORRUPT_SUFFIX
from mdcore.store import Store

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")
RECORDER = str(Path(__file__).resolve().parents[1] / "cli" / "record_event.py")
ENGINE_TIMEOUT = 120
# What no run may print: a Python traceback, or the one line of a bug (exit 70).
BUG_MARKS = ("Traceback (most recent call last)", "internal error")


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=UTILS, **extra)
    env.pop("MDFLEET_TRACEBACK", None)
    for name in ("MDFLEET_FAULT_KILL_AT", "MDFLEET_FAULT_TRACE"):
        if name not in extra:
            env.pop(name, None)
    return env


def command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mdcore", "--config", str(config), *args]


def mdfleet(config: Path, *args: str, kill_at: int = 0, trace: Path | None = None,
            timeout: float = ENGINE_TIMEOUT) -> subprocess.CompletedProcess:
    extra = {}
    if kill_at:
        extra["MDFLEET_FAULT_KILL_AT"] = str(kill_at)
    if trace:
        extra["MDFLEET_FAULT_TRACE"] = str(trace)
    return subprocess.run(command(config, *args), env=engine_env(**extra), capture_output=True, text=True,
                          timeout=timeout, check=False)


def bugs(*runs: subprocess.CompletedProcess) -> int:
    """How many of ``runs`` printed a traceback or an internal error."""
    return sum(any(mark in run.stderr + run.stdout for mark in BUG_MARKS) for run in runs)


def pebble_defaults(pebble) -> dict:
    return {"acme_directory": pebble.directory_url, "ca_bundle": pebble.ca_bundle, "agree_tos": True,
            "http01_mode": "standalone", "standalone_address": "127.0.0.1", "standalone_port": pebble.http_port}


def host_config(pebble, folder: Path, domains: dict[str, list[str]], *, store: Path | None = None,
                **extra) -> Path:
    """config.json in ``folder`` for ``domains`` (md -> names) ordered from ``pebble``; the web
    server's config test and reload are commands that leave a mark in ``folder``/reloaded."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "store": str(store or folder / "store"), "stapling": {"enabled": False},
        "defaults": pebble_defaults(pebble),
        "domains": [{"name": md, "domains": names} for md, names in domains.items()],
        "reload": {"test_command": [sys.executable, "-c", "pass"],
                   "reload_command": [sys.executable, "-c", "open(%r, 'a').write('x')" % str(folder / "reloaded")]},
    }
    doc.update(extra)
    path = folder / "config.json"
    path.write_text(json.dumps(doc))
    return path


def recorder(log: Path) -> list[str]:
    """A message command that appends each event to ``log`` (see events())."""
    return [sys.executable, RECORDER, str(log)]


def events(log: Path) -> list[list[str]]:
    return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []


def copy_store(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def orders_created(pebble) -> int:
    return pebble.log_path.read_text(errors="replace").count("Added order")


def log_mark(pebble) -> int:
    return len(pebble.log_path.read_bytes())


def wasted_orders(pebble, root: Path, since: int, needed: int = 1) -> tuple[int, list[str]]:
    """Orders ``pebble`` made since the log mark ``since`` (for the account in the store at ``root``)
    that are waste: left pending, ready or processing (abandoned: a lost order counts against the
    CA's limits and is never used), and valid ones beyond the ``needed`` certificates (two
    certificates for one renewal). An invalid order is no waste: it failed (as when a kill left
    its challenge unanswered). Returns the count and each order's state."""
    text = pebble.log_path.read_bytes()[since:].decode(errors="replace")
    ids = re.findall(r'Added order "([^"]+)"', text)
    if not ids:
        return 0, []
    found = AccountStore(str(root / "accounts")).load(pebble.directory_url, None)
    assert found is not None, "orders were made, but the store has no account"
    ref, key = found
    transport = AcmeTransport(pebble.directory_url, Clock(), TransportOptions(verify=pebble.ca_bundle))
    deadline = Deadline(Clock(), 30)
    states = [transport.post_as_get(pebble.directory_url.replace("/dir", "/my-order/" + order), key, ref.url,
                                    deadline, "order").body.get("status") for order in ids]
    valid = states.count(Status.VALID)
    abandoned = len(states) - valid - states.count(Status.INVALID)
    return abandoned + max(0, valid - needed), states


def problems(root: Path, mds: list[str]) -> list[str]:
    """What is inconsistent in the store at ``root`` for the managed domains ``mds``: an active set
    that does not read or whose files are not those recorded at activation, a key that is not its
    certificate's, temp files of killed runs, installs still pending. Empty when nothing."""
    store = Store(str(root), Clock())
    found = []
    for md in mds:
        try:
            active = store.active_set(md)
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            found.append("%s: the active set does not read: %s" % (md, exc))
            continue
        if active is None:
            found.append("%s: no active set" % md)
            continue
        damage = store.damage(md, active)
        if damage:
            found.append(damage)
        for kt in active.key_types:
            folder = Path(store.active_dir(md), kt)
            cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
            key = serialization.load_pem_private_key((folder / "privkey.pem").read_bytes(), None)
            spki = serialization.PublicFormat.SubjectPublicKeyInfo
            if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != \
                    key.public_key().public_bytes(serialization.Encoding.DER, spki):
                found.append("%s: the key is not the certificate's" % folder)
    for dirpath, _dirs, files in os.walk(root):
        found += [os.path.join(dirpath, n) + " left behind" for n in files if n.startswith(TEMP_PREFIX)]
    installs = root / "installs"
    pending = sorted(n for n in os.listdir(installs) if CORRUPT_SUFFIX not in n) if installs.is_dir() else []
    if pending:  # one that was corrupt stays set aside beside them
        found.append("installs pending: %s" % pending)
    return found


def serial(root: Path, md: str, key_type: str = "p256") -> int:
    return Store(str(root), Clock()).active_set(md).certs[key_type].serial


def one_line_errors(stderr: str) -> list[str]:
    """The run's problems as printed: every line of stderr must be one 'mdfleet: ...' line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert all(line.startswith("mdfleet: ") for line in lines), stderr
    return lines


@dataclass
class KillTally:
    """The figures of a kill test. After each killed run of ``md`` the timer's drive runs; then the
    store must be consistent, no order wasted, no traceback printed by either run."""

    pebble: object
    md: str
    old_serial: int
    killed: int = 0
    renewed: int = 0  # killed, and renewed by the next drive
    inconsistent: int = 0
    wasted: int = 0
    tracebacks: int = 0
    findings: list[str] = field(default_factory=list)

    def after_kill(self, label: str, kill: subprocess.CompletedProcess, config: Path, store: Path,
                   mark: int) -> None:
        """``kill`` ran on ``store`` (config ``config``) from the pebble log mark ``mark``."""
        was_killed = kill.returncode == -signal.SIGKILL
        self.killed += was_killed
        after = mdfleet(config, "drive")  # the timer's next run
        self.tracebacks += bugs(kill, after)
        bad = problems(store, [self.md])
        if after.returncode != 0:
            bad.append("drive exited %d: %s" % (after.returncode, after.stderr.strip()))
        if bad:
            self.inconsistent += 1
            self.findings.append("%s: %s" % (label, "; ".join(bad)))
        waste, states = wasted_orders(self.pebble, store, mark)
        if waste:
            self.wasted += waste
            self.findings.append("%s: orders %s for one renewal" % (label, states))
        self.renewed += was_killed and not bad and serial(store, self.md) != self.old_serial

    def totals(self) -> str:
        return "%d inconsistent stores, %d wasted orders, %d tracebacks" % (self.inconsistent, self.wasted,
                                                                            self.tracebacks)
