"""The corruption corpus: every file type of the store, each damaged several ways (a folder in its
place, empty, truncated, ``[1]``, ``{}``, garbage bytes, the right syntax with wrong types), on a
copy of a store with two issued domains, ``a`` (the damaged one) and ``b`` (at another CA). Then
`mdfleet status`, the run that needs the file (`drive`, or a forced renewal where only an order
reads it), `status` and `drive` again. Outcomes (issue 10):

- never a traceback or an internal error, every line of output one ``mdfleet:`` line;
- derived state (jobs, the staple book, orders and keys in staging, account.json, pending
  installs, events, status files) is set aside as ``<file>.corrupt-<time>``, the run says so
  (exit 0) and the file is rebuilt; the next drive has nothing more to say (the status memo, a
  cache, is rebuilt without a word unless a folder stands in its place);
- state that cannot be rebuilt is never used: a damaged active set (set.json, key, certificate,
  chain) is an error in `status` naming the file, an ``errored`` event, and is replaced by a new
  order (exit 4: degraded, still serving); a corrupt account key is an error naming it for the
  domain that needs it (exit 1, ``errored``), kept as it is;
- ``b`` is handled all along, the store ends consistent, and no order is wasted.

The runs go through `mdfleet`'s main() in this process (the CLI's whole path, minus the
interpreter start: 100+ cases stay quick); the kill, disk-full and concurrency tests run it as
processes."""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mdcore import cli

from .engine import (
    BUG_MARKS,
    copy_store,
    events,
    host_config,
    mdfleet,
    orders_created,
    pebble_defaults,
    problems,
    recorder,
    serial,
)

A, B = "a", "b"


class Kind:
    DERIVED = "derived"  # set aside, rebuilt, exit 0
    ACTIVE = "active set"  # reported, errored, replaced by a new order: exit 4
    ACCOUNT_KEY = "account key"  # an error of the domain that needs it: exit 1, kept
    UNREAD = "not read"  # nothing reads it (the lock file's content, the clean-exit marker)
    LOCK = "lock"  # a folder as the lock file: one line naming it, nothing runs


@dataclass(frozen=True)
class FileType:
    name: str
    template: str  # which store copy holds the file (see templates())
    path: str  # relative to the store; {account} is the account folder of a's CA
    kind: str
    trigger: tuple[str, ...] = ("drive",)  # the run that needs the file
    corruptions: tuple[str, ...] = ()  # default: every one that fits the file's format
    stapling: bool = True
    rebuilt: bool = True  # the trigger run writes the file anew
    renews: bool = False  # the trigger run finishes a's interrupted renewal
    # corruptions its reader repairs in place (entries that do not read are dropped and written
    # anew): rebuilt, nothing to set aside
    in_place: tuple[str, ...] = ()
    orders: int = 0  # orders of a's CA the trigger run makes (more are wasted)


def flip_types(value: object, top: bool = True) -> object:
    """Every value of another JSON type (but the version and the domain's name, which would stop the
    reader at its first check)."""
    if isinstance(value, dict):
        return {k: v if top and k in ("version", "md") else flip_types(v, False) for k, v in value.items()}
    if isinstance(value, list):
        return {"0": [flip_types(v, False) for v in value]}
    if isinstance(value, bool):
        return "true"
    if isinstance(value, str):
        return 5
    if isinstance(value, (int, float)):
        return str(value)
    return []


def wrong_types(data: bytes, store: Path) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):  # a PEM file gets a PEM of another kind
        other = "domains/a/p256/chain.pem" if b"PRIVATE KEY" in data else "domains/a/p256/privkey.pem"
        return (store / other).read_bytes()
    return json.dumps(flip_types(json.loads(data))).encode()


def garbage(data: bytes, _store: Path) -> bytes:
    draw = random.Random(len(data))
    return bytes(draw.randrange(256) for _index in range(max(64, len(data))))


FOLDER = "a folder"
CORRUPTIONS: dict[str, Callable[[bytes, Path], bytes] | None] = {
    FOLDER: None,
    "empty": lambda data, _store: b"",
    "truncated": lambda data, _store: data[: len(data) // 2],
    "[1]": lambda data, _store: b"[1]\n",
    "{}": lambda data, _store: b"{}\n",
    "garbage bytes": garbage,
    "wrong types": wrong_types,
}
JSON_CORRUPTIONS = tuple(CORRUPTIONS)
PEM_CORRUPTIONS = (FOLDER, "empty", "truncated", "garbage bytes", "wrong types")
TEXT_CORRUPTIONS = (FOLDER, "empty", "truncated", "garbage bytes")
FORCED = ("renew", "--force")

FILE_TYPES = (
    FileType("job", "issued", "jobs/a.json", Kind.DERIVED),
    FileType("set.json", "issued", "domains/a/set.json", Kind.ACTIVE, orders=1, corruptions=JSON_CORRUPTIONS),
    FileType("active key", "issued", "domains/a/p256/privkey.pem", Kind.ACTIVE, orders=1),
    FileType("active certificate", "issued", "domains/a/p256/cert.pem", Kind.ACTIVE, orders=1),
    FileType("active chain", "issued", "domains/a/p256/chain.pem", Kind.ACTIVE, orders=1),
    FileType("active fullchain", "issued", "domains/a/p256/fullchain.pem", Kind.ACTIVE, orders=1),
    FileType("order in staging", "in-flight", "staging/a/order.json", Kind.DERIVED, rebuilt=False),
    # the order was finalized with the key that is lost: one more order for the new key
    FileType("staged key", "in-flight", "staging/a/p256/privkey.pem", Kind.DERIVED, rebuilt=False, renews=True,
             orders=1),
    FileType("staged certificate", "downloaded", "staging/a/p256/cert.pem", Kind.DERIVED, rebuilt=False,
             renews=True),
    FileType("staged fullchain", "downloaded", "staging/a/p256/fullchain.pem", Kind.DERIVED, rebuilt=False,
             renews=True),
    FileType("account.json", "issued", "accounts/{account}/account.json", Kind.DERIVED, trigger=FORCED, orders=1),
    FileType("account key", "issued", "accounts/{account}/account.key.pem", Kind.ACCOUNT_KEY, trigger=FORCED),
    FileType("staple book", "issued", "ocsp/staples.json", Kind.DERIVED, in_place=("wrong types",)),
    FileType("staple book, stapling off", "issued", "ocsp/staples.json", Kind.UNREAD, stapling=False),
    FileType("pending install", "pending-install", "installs/a.json", Kind.DERIVED, rebuilt=False),
    FileType("events", "issued", "events/a.json", Kind.DERIVED, trigger=FORCED + (A,), orders=1,
             in_place=("{}", "wrong types")),
    FileType("md-status.json", "issued", "status/md-status.json", Kind.DERIVED),
    FileType("status of a domain", "issued", "status/domains/a.json", Kind.DERIVED),
    FileType("status page", "issued", "status/index.html", Kind.DERIVED, corruptions=TEXT_CORRUPTIONS),
    FileType("Prometheus text", "issued", "status/mdfleet.prom", Kind.DERIVED, corruptions=TEXT_CORRUPTIONS),
    # a cache (status/memo.py): one that does not read is ignored and written anew, without a word;
    # a folder in its place is set aside
    FileType("status memo", "issued", "status-memo.bin", Kind.DERIVED, corruptions=TEXT_CORRUPTIONS,
             in_place=("empty", "truncated", "garbage bytes")),
    FileType("clean-exit marker", "issued", ".clean-exit", Kind.UNREAD, corruptions=TEXT_CORRUPTIONS),
    FileType("lock file", "issued", "store.lock", Kind.UNREAD, corruptions=TEXT_CORRUPTIONS[1:]),
    FileType("lock file", "issued", "store.lock", Kind.LOCK, corruptions=(FOLDER,)),
)


def corruptions_of(ftype: FileType) -> tuple[str, ...]:
    if ftype.corruptions:
        return ftype.corruptions
    return PEM_CORRUPTIONS if ftype.path.endswith(".pem") else JSON_CORRUPTIONS


def kill_point(trace: Path, action: str, fragment: str) -> int:
    """The number of the first write point that is ``action`` on a path containing ``fragment``."""
    for line in trace.read_text().splitlines():
        number, what, path = line.split(" ", 2)
        if what == action and fragment in path:
            return int(number)
    raise AssertionError("no write point %s %s in %s" % (action, fragment, trace.read_text()))


def run(config: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--config", str(config), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


class Corpus:
    """The templates (stores in given states) and one config per case."""

    def __init__(self, pebble_a, pebble_b, tmp: Path) -> None:
        self.pebble_a, self.pebble_b, self.tmp = pebble_a, pebble_b, tmp
        self.templates: dict[str, Path] = {}

    def config(self, folder: Path, *, stapling: bool = True, events_to: Path | None = None, **extra) -> Path:
        other = dict(pebble_defaults(self.pebble_b), name=B, domains=["b.corpus.example"])
        cfg = host_config(self.pebble_a, folder, {A: ["a.corpus.example"]}, stapling={"enabled": stapling},
                          **extra)
        doc = json.loads(cfg.read_text())
        doc["domains"].append(other)
        if events_to:
            doc["message_cmd"] = recorder(events_to)
        cfg.write_text(json.dumps(doc))
        return cfg

    def build(self) -> None:
        """issued: both domains issued (events, staples, status written). From it, a forced
        renewal of a killed at a chosen write point (without events, so that the points do not
        depend on the CA reusing an authorization): in-flight (order finalized, certificate not
        written), downloaded (staging complete, not sealed), pending-install (activated, the
        reload not done)."""
        issued = self.tmp / "issued"
        first = mdfleet(self.config(issued, events_to=issued / "events.log"), "drive")
        assert first.returncode == 0, first.stderr
        self.templates["issued"] = issued / "store"
        traced = self.tmp / "traced"
        copy_store(issued / "store", traced / "store")
        trace = traced / "trace"
        assert mdfleet(self.config(traced), "renew", "--force", A, trace=trace).returncode == 0
        for name, action, fragment in (("in-flight", "replace", "staging/a/p256/cert.pem"),
                                       ("downloaded", "temp", "installs/"),
                                       ("pending-install", "temp", "jobs/")):
            copy_store(issued / "store", self.tmp / name / "store")
            killed = mdfleet(self.config(self.tmp / name), "renew", "--force", A,
                             kill_at=kill_point(trace, action, fragment))
            assert killed.returncode == -9, killed.stderr
            self.templates[name] = self.tmp / name / "store"

    def account_folder(self) -> str:
        from mdcore.acme.account import ca_id

        return ca_id(self.pebble_a.directory_url, None)


@dataclass
class Outcome:
    findings: list[str]
    runs: int = 0
    tracebacks: int = 0
    wasted: int = 0
    inconsistent: bool = False
    set_aside: bool = False
    reported: bool = False


def corrupt(path: Path, how: str, store: Path) -> bytes | None:
    """Damage ``path`` ``how``; returns what it holds now (None: a folder)."""
    damage = CORRUPTIONS[how]
    if damage is None:
        path.unlink()
        path.mkdir()
        return None
    data = damage(path.read_bytes(), store)
    path.write_bytes(data)
    return data


def rebuilt(path: Path, damaged: bytes | None) -> bool:
    """A file again, not the damaged bytes, and JSON where it must be."""
    if not path.is_file() or path.read_bytes() == damaged:
        return False
    if path.suffix == ".json":
        try:
            json.loads(path.read_bytes())
        except ValueError:
            return False
    return True


def set_aside_files(path: Path) -> list[str]:
    folder = path.parent
    return sorted(n for n in os.listdir(folder) if n.startswith(path.name + ".corrupt-")) if folder.is_dir() else []


def domain_status(code_out_err: tuple[int, str, str], md: str) -> dict:
    doc = json.loads(code_out_err[1])
    return next(d for d in doc["managed-domains"] if d["name"] == md)


@dataclass
class Case:
    """One corrupted file and what the runs over it printed."""

    ftype: FileType
    how: str
    store: Path
    path: Path  # as the store names it
    real: Path  # the file itself (domains/a is a link into the archive)
    damaged: bytes | None  # what it holds now (None: a folder)
    old: dict[str, int]  # serials before
    log: Path  # the events

    @property
    def shown(self) -> str:
        """What an error about it must name."""
        return "%s/%s" % (self.path.parent.name, self.path.name)


def expect_derived(case: Case, trigger: tuple[int, str, str], a_after: dict, out: Outcome) -> None:
    """Set aside (and said so), rebuilt, exit 0."""
    code, _stdout, err = trigger
    ftype, how = case.ftype, case.how
    if code != 0:
        out.findings.append("the trigger exited %d: %s" % (code, err.strip()))
    # status files are written anew, not read: only a folder in their place is set aside
    if how not in ftype.in_place and (how == FOLDER or not ftype.path.startswith("status/")):
        said = [line for line in err.splitlines() if case.shown in line and " is corrupt" in line and
                "set aside as %s.corrupt-" % case.path.name in line]
        out.set_aside = bool(said)
        if not said:
            out.findings.append("the run did not say it set %s aside: %r" % (case.shown, err))
        # the set-aside copy stays for a look, but not in staging (a set in the archive holds its
        # files only) and not as an empty folder (the staple book's pruning removes those)
        elif not set_aside_files(case.real) and how != FOLDER and not ftype.path.startswith("staging/"):
            out.findings.append("not set aside: %s" % sorted(os.listdir(case.real.parent)))
    if ftype.rebuilt and not rebuilt(case.real, case.damaged):
        out.findings.append("not rebuilt")
    if ftype.renews and serial(case.store, A) == case.old[A]:
        out.findings.append("the interrupted renewal was not finished")
    if a_after["health"] != "ok":
        out.findings.append("a is not ok after the repair: %s" % a_after["health-descr"])


def expect_active(case: Case, trigger: tuple[int, str, str], a_before: dict, a_after: dict, out: Outcome) -> None:
    """Reported by status, errored, replaced by a new order: exit 4 (degraded)."""
    code, _stdout, err = trigger
    out.reported = a_before["health"] == "error" and case.shown in a_before["health-descr"]
    if not out.reported:
        out.findings.append("status did not report the damage: %s" % a_before["health-descr"])
    if code != cli.EXIT_DEGRADED or "mdfleet: degraded: a: " not in err or case.shown not in err:
        out.findings.append("drive: exit %d, %r (want 4, degraded, naming %s)" % (code, err, case.shown))
    if ["errored", A] not in events(case.log):
        out.findings.append("no errored event")
    if serial(case.store, A) == case.old[A] or a_after["health"] != "ok":
        out.findings.append("the damaged set was not replaced: %s" % a_after["health-descr"])


def expect_account_key(case: Case, trigger: tuple[int, str, str], a_after: dict, out: Outcome) -> None:
    """An error of the domain that needs it (exit 1, errored, status), never replaced; b renewed."""
    code, _stdout, err = trigger
    error = [line for line in err.splitlines() if line.startswith("mdfleet: a: ")]
    out.reported = a_after["health"] == "error" and case.shown in a_after["health-descr"]
    if code != cli.EXIT_FAILED or len(error) != 1 or case.shown not in error[0]:
        out.findings.append("renew: exit %d, %r (want 1, one line for a naming %s)" % (code, err, case.shown))
    if not out.reported:
        out.findings.append("status did not report it: %s" % a_after["health-descr"])
    if ["errored", A] not in events(case.log):
        out.findings.append("no errored event")
    if (case.real.read_bytes() if case.real.is_file() else None) != case.damaged:
        out.findings.append("the account key was replaced")
    if serial(case.store, B) == case.old[B]:
        out.findings.append("b (another CA) was not renewed")


def check_case(corpus: Corpus, ftype: FileType, how: str, folder: Path) -> Outcome:
    out = Outcome([])
    config = corpus.config(folder, stapling=ftype.stapling, events_to=folder / "events.log")
    store = copy_store(corpus.templates[ftype.template], folder / "store")
    path = store / ftype.path.format(account=corpus.account_folder())
    real = Path(os.path.realpath(path))
    old = {md: serial(store, md) for md in (A, B)}
    case = Case(ftype, how, store, path, real, corrupt(real, how, store), old, folder / "events.log")
    orders_before = orders_created(corpus.pebble_a)

    runs = [("status", run(config, "status")), (" ".join(ftype.trigger), run(config, *ftype.trigger)),
            ("status", run(config, "status")), ("drive", run(config, "drive"))]
    out.runs = len(runs)
    for what, (code, stdout, stderr) in runs:
        if any(mark in stderr + stdout for mark in BUG_MARKS) or code == cli.EXIT_INTERNAL:
            out.tracebacks += 1
            out.findings.append("%s printed a bug: %s" % (what, stderr.strip()))
        if [line for line in stderr.splitlines() if not line.startswith("mdfleet: ")]:
            out.findings.append("%s: not one line per problem: %r" % (what, stderr))
    status_before, trigger, status_after, (d_code, _do, d_err) = [r for _what, r in runs]
    if status_before[0] != 0 or status_after[0] != 0:
        out.findings.append("status exited %d / %d" % (status_before[0], status_after[0]))
        return out
    a_before, a_after = domain_status(status_before, A), domain_status(status_after, A)
    b_after = domain_status(status_after, B)
    if b_after["health"] != "ok":
        out.findings.append("b is not handled: %s" % b_after["health-descr"])

    if ftype.kind == Kind.DERIVED:
        expect_derived(case, trigger, a_after, out)
    elif ftype.kind == Kind.ACTIVE:
        expect_active(case, trigger, a_before, a_after, out)
    elif ftype.kind == Kind.ACCOUNT_KEY:
        expect_account_key(case, trigger, a_after, out)
    elif ftype.kind == Kind.UNREAD:
        if trigger[0] != 0 or trigger[2]:
            out.findings.append("the trigger exited %d: %r" % (trigger[0], trigger[2]))
    elif ftype.kind == Kind.LOCK:
        if trigger[0] != cli.EXIT_FAILED or trigger[2].count("\n") != 1 or "store.lock" not in trigger[2]:
            out.findings.append("exit %d, %r (want 1, one line naming the lock file)" % (trigger[0], trigger[2]))
        return out  # nothing ran: the store is as it was

    if d_code != 0 or d_err:
        out.findings.append("the next drive exited %d: %r" % (d_code, d_err))
    found = problems(store, [A, B])
    if found:
        out.inconsistent = True
        out.findings += found
    made = orders_created(corpus.pebble_a) - orders_before
    if made > ftype.orders:
        out.wasted = made - ftype.orders
        out.findings.append("%d orders, %d expected" % (made, ftype.orders))
    if ftype.trigger[:1] != ("renew",) and serial(store, B) != old[B]:
        out.findings.append("b was renewed for nothing")
    return out


@pytest.fixture(scope="module")
def corpus(pebble_standalone, pebble_validating, work_factory) -> Corpus:
    """a at pebble_standalone, b at another pebble (an account key of a's CA is not b's)."""
    made = Corpus(pebble_standalone, pebble_validating, work_factory("corpus"))
    made.build()
    return made


@pytest.mark.timeout(900)
def test_every_store_file_type_corrupted_every_way(corpus, work, figures, monkeypatch):
    monkeypatch.delenv("MDFLEET_TRACEBACK", raising=False)
    cases = [(ftype, how) for ftype in FILE_TYPES for how in corruptions_of(ftype)]
    findings: list[str] = []
    totals = Outcome([])
    aside = reported = inconsistent = 0
    for number, (ftype, how) in enumerate(cases, 1):
        outcome = check_case(corpus, ftype, how, work / ("case%d" % number))
        findings += ["%s (%s) %s: %s" % (ftype.name, ftype.path, how, f) for f in outcome.findings]
        totals.runs += outcome.runs
        totals.tracebacks += outcome.tracebacks
        totals.wasted += outcome.wasted
        inconsistent += outcome.inconsistent
        aside += outcome.set_aside
        reported += outcome.reported
    types = len({(f.name, f.path) for f in FILE_TYPES})
    figures.add("corruption corpus: %d cases over %d file types, %d set aside and rebuilt, %d reported as errors "
                "(status and an errored event), %d findings" % (len(cases), types, aside, reported, len(findings)),
                runs=totals.runs, inconsistent=inconsistent, wasted=totals.wasted, tracebacks=totals.tracebacks)
    assert findings == []
