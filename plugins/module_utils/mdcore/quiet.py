"""The quiet memo (<store>/quiet-memo.bin): an idle `mdfleet drive` answered without the run.

Most timer runs find nothing to do: no renewal, no staple, no reload, no status file to rewrite,
no event. Such a run is a pure function of the files it looked at, the time, its command line,
its environment and the engine. A run that was quiet this way (it wrote nothing, started no
command, opened no socket, reported nothing but "nothing to do") leaves a memo of:

- every path it opened, listed or stat()ed, with the identity each had when the run ended
  (under the lock): mode, device, inode, size, mtime and ctime, or "missing". A folder it listed
  changes when an entry is added or removed; a file rewritten in place changes its own mtime; a
  file it looked for and did not find is in it as missing. The paths are recorded by the run
  itself (an audit hook for open/listdir/scandir and wrappers of os.stat/lstat/readlink during the
  run), not listed by hand, so no new input of the run can be forgotten here. The engine's own
  files and the interpreter's are left out (the engine is stamped whole: codestamp.py);
- the earliest moment one of its decisions changes with time alone (horizon.py: renew and retry
  times, ARI checks, staple refresh and expiry, the daily hash check, the status texts' next
  change), and never more than MAX_AGE after the run: a full run at least that often;
- its command line, the config file's bytes (a digest), the environment variables mdfleet or its
  libraries read, the Python and the engine;
- what it printed and its exit code.

A later `drive` with the same command line takes the store lock (without waiting: a locked store
is the full run's business), checks all of that, and when every path still has its identity and
the time lies between the run and its horizon, prints the same and exits: the same outcome as the
run, without its imports, its config parsing and its per-domain planning.

`status` (JSON, HTML or Prometheus) is answered from the same memo: the quiet run built the very
status the command would build (the same files read: the run read more), and its status files
are the command's views (md-status.json is `status --json`, index.html `--html`, mdfleet.prom
`--prometheus`), kept as templates (status/page.py). With the same config, engine, Python and
environment, every path's identity unchanged and the time before the horizon, `status` prints
the view's template filled for now.
It takes no lock, as the full command does not; a run at work has taken the clean-exit marker
away, and then the command builds the status itself.

A cache, never state: written without fsync (a lost memo costs one full run), read only by
`python3 -m mdcore` / the `mdfleet` launcher. One that is missing, truncated, corrupt (its CRC),
of another format or for another command is ignored. MDFLEET_NO_QUIET=1 turns the replay off.
This module imports only the standard library: the replay must not pay the engine's imports.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import threading
import time
import zlib

from . import VERSION, horizon
from .codestamp import code_stamp

TEMP_PREFIX = ".tmp-"  # fsutil.TEMP_PREFIX (fsutil is imported only when a replay writes)

MEMO_FILE = "quiet-memo.bin"
LOCK_FILE = "store.lock"  # store.py: the run's lock
CLEAN_MARKER = ".clean-exit"  # store.py: taken away and put back by every locked run
PROBE_PREFIX = ".probe-"  # store.py: Store.setup() makes and removes one to see the store is writable
MAGIC = b"mdfleet quiet memo\n"
FORMAT = 2  # 2: the status views
MAX_AGE = 12 * 3600.0  # seconds: a full run at least this often (mod_md's MDCheckInterval)
MAX_BYTES = 64 * 1024 * 1024
OFF = "MDFLEET_NO_QUIET"
# Environment read by the engine or the libraries under it: another value may be another run.
ENV_PREFIXES = ("MDFLEET_", "SSL_", "REQUESTS_", "CURL_", "LC_")
ENV_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
             "all_proxy", "TZ", "LANG", "LANGUAGE", "PATH", "HOME", "PYTHONPATH")
SKIP_PREFIXES = ("/proc/", "/sys/", "/dev/")
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pth")
# os.mkdir is not among them: makedirs(exist_ok=True) tries it on folders that are there, and a
# folder a run made is there for the next run as well (no decision depends on having made it).
WRITE_EVENTS = frozenset(("os.rename", "os.replace", "os.remove", "os.rmdir", "os.chmod", "os.chown",
                          "os.link", "os.symlink", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move",
                          "shutil.copyfile", "os.chflags", "os.setxattr", "os.removexattr"))
ACT_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
              "socket.connect", "socket.sendto", "socket.bind", "socket.getaddrinfo", "pty.spawn")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
IMPORT_MODULES = ("importlib._bootstrap", "importlib._bootstrap_external", "_frozen_importlib",
                  "_frozen_importlib_external", "zipimport", "importlib.util", "importlib.machinery")

_recording: Recorder | None = None
_hook_lock = threading.Lock()
_hooked = False


def identity(path: str) -> tuple | int | None:
    """What a path is now: (mode, device, inode, size, mtime, ctime), None when missing, the
    errno when it cannot be looked at."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.errno or -1
    return (st.st_mode, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def environment() -> tuple:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)))


def _header(argv: list[str], config_path: str, config_digest: bytes) -> tuple:
    """What a memo is for: its format, the engine (version, every file's identity), the Python, the
    command line, the config file (path, digest of its bytes), the host's name (status pages show
    it: status/build.py) and the environment; the environment last (tests add to it)."""
    return (FORMAT, VERSION, sys.version, sys.executable, code_stamp(), tuple(argv), os.path.abspath(config_path),
            config_digest, os.uname().nodename, environment())


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest()


class Recorder:
    """What one run looks at, writes and does (one at a time per process)."""

    def __init__(self) -> None:
        self.root: str | None = None  # the store's, once the run has read its config
        self.paths: set[str] = set()
        self.writes: list[str] = []
        self.acts: list[str] = []
        self.frozen: dict | None = None
        self.quiet = False  # set by the run: its report says it had nothing to do (cli.quiet_run)
        self.status_covered = False  # set by the run: every domain's status came from the status memo
        self.pages: dict[str, list] = {}  # status file -> its template (status/page.py), filled at every replay
        self.views: dict[str, str] = {}  # `status` view (view_key) -> the page (above) that is its text
        self._saved: dict = {}

    # -- recording ------------------------------------------------------------------------------
    def start(self) -> Recorder:
        global _recording, _hooked
        with _hook_lock:
            if not _hooked:  # an audit hook cannot be removed: one per process, idle when nobody records
                sys.addaudithook(_audit)
                _hooked = True
        for name in ("stat", "lstat", "readlink"):
            self._saved[name] = getattr(os, name)
            setattr(os, name, _watched(self._saved[name], self))
        _recording = self
        horizon.start(self)
        return self

    def stop(self) -> None:
        global _recording
        _recording = None
        for name, func in self._saved.items():
            setattr(os, name, func)
        self._saved = {}

    def saw(self, path: object) -> None:
        path = _text(path)
        if not isinstance(path, str):
            return  # a file descriptor: its path was seen when it was opened
        path = os.path.abspath(path)
        if path.startswith(SKIP_PREFIXES) or path.endswith(CODE_SUFFIXES) or "/__pycache__" in path:
            return
        self.paths.add(path)

    def wrote(self, path: object) -> None:
        path = _text(path)
        if not isinstance(path, str):
            return  # a file descriptor (fchmod, fsync): its file was opened for writing, and seen then
        if not path.startswith("/dev/"):
            self.writes.append(os.path.abspath(path))

    def page(self, path: str, parts: list) -> None:
        """A status file this run wrote from a template: every replay writes it again for its time."""
        self.pages[os.path.abspath(path)] = parts

    def view(self, key: str, path: str) -> None:
        """The status page (one of self.pages) whose text `status` prints for ``key`` (view_key())."""
        self.views[key] = os.path.abspath(path)

    def _written_page(self, path: str) -> bool:
        """A status page, or a temp file of one (fsutil.atomic_write: .tmp-... beside it, renamed)."""
        if path in self.pages:
            return True
        folder, name = os.path.split(path)
        return name.startswith(TEMP_PREFIX) and any(os.path.dirname(p) == folder for p in self.pages)

    def freeze(self, store_root: str) -> None:
        """The identities of everything seen, taken now (the caller still holds the store lock,
        so no other run changes them in between)."""
        self.root = os.path.abspath(store_root)
        # Only what the run looked at: a file it looked for and did not find is in it as missing,
        # a folder it listed by its own identity (entries added or removed change it).
        paths = {p for p in self.paths if not self._own(p)}
        paths.discard(self.root)  # the clean-exit marker changes it after every run
        # The pages are outputs that every replay writes again, and their folders change with
        # them (and, for node_exporter's folder, with other collectors' files).
        paths -= set(self.pages)
        paths -= {os.path.dirname(p) for p in self.pages}
        stat = self._saved.get("stat", os.stat)
        out = {}
        for path in paths:
            try:
                st = stat(path)
            except FileNotFoundError:
                out[path] = None
                continue
            except OSError as exc:
                out[path] = exc.errno or -1
                continue
            out[path] = (st.st_mode, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        self.frozen = out

    def _own(self, path: str) -> bool:
        """The lock, its clean-exit marker and Store.setup's write probe: every run takes, gives
        back or makes and removes them; and this memo."""
        folder, name = os.path.split(path)
        return folder == self.root and (name in (MEMO_FILE, LOCK_FILE, CLEAN_MARKER) or name.startswith(PROBE_PREFIX))

    # -- the memo -------------------------------------------------------------------------------
    def save(self, argv: list[str], config_path: str, made: float, stdout: str, stderr: str, code: int) -> bool:
        """Write the memo when the run was a quiet one (and take away an older one otherwise:
        a run that did something makes the next run a full one too). Returns whether it wrote."""
        until = horizon.stop(made)
        if self.root is None:  # the run ended before its lock (a config error, a locked store)
            return False
        path = os.path.join(self.root, MEMO_FILE)
        written = [w for w in self.writes if not self._own(w) and not self._written_page(w)]
        live = all(any(part.__class__ is not str for part in parts) for parts in self.pages.values())
        if not self.quiet or written or self.acts or self.frozen is None or code != 0 or not live:
            _forget(path)
            return False
        until = min(until if until is not None else made + MAX_AGE, made + MAX_AGE)
        try:
            with open(config_path, "rb") as handle:
                config = _digest(handle.read())
        except OSError:
            _forget(path)
            return False
        header = _header(argv, config_path, config)
        items = sorted(self.frozen.items())
        pages = tuple(sorted(self.pages.items()))
        views = tuple(sorted(self.views.items()))
        payload = marshal.dumps((header, made, until, tuple(p for p, _i in items), tuple(i for _p, i in items),
                                 stdout, stderr, code, pages, views))
        data = MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload
        tmp = "%s.tmp-%d" % (path, os.getpid())
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, path)  # not fsynced: a memo lost in a crash costs one full run
        except OSError:
            _forget(tmp)
            return False
        return True


def _text(path: object) -> object:
    """A path as text (bytes and os.PathLike too); a file descriptor stays what it is."""
    if isinstance(path, int):
        return path
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        return path


def _forget(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _watched(func, recorder: Recorder):
    def watched(path, *args, **kwargs):
        if _recording is recorder:
            recorder.saw(path)
        return func(path, *args, **kwargs)

    watched.__wrapped__ = func  # type: ignore[attr-defined]
    return watched


def _audit(event: str, args: tuple) -> None:
    rec = _recording
    if rec is None:
        return
    if event == "open":
        path, mode, flags = args
        if _from_import():
            return
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if writing or (isinstance(flags, int) and flags & WRITE_FLAGS):
            rec.wrote(path)
        else:
            rec.saw(path)
    elif event in ("os.listdir", "os.scandir"):
        if not _from_import():
            rec.saw(args[0] if args and args[0] is not None else ".")
    elif event in WRITE_EVENTS:
        rec.wrote(args[0] if args else event)
    elif event.startswith(ACT_EVENTS):
        rec.acts.append(event)


def _from_import() -> bool:
    """Whether the caller is the import system (it reads the engine and the standard library)."""
    frame = sys._getframe(2)  # _audit <- the C function's caller
    depth = 0
    while frame is not None and depth < 4:
        if frame.f_globals.get("__name__") in IMPORT_MODULES:
            return True
        frame = frame.f_back
        depth += 1
    return False


# -- the replay ---------------------------------------------------------------------------------
def drive_config(argv: list[str]) -> str | None:
    """The config path of a plain `[--config PATH] drive` (the timer's command); None for anything
    else. Not `drive --json`: its report lists the status files whose content changed, which
    depends on the second the pages are written in."""
    config, rest = _config_first(argv)
    if rest != ["drive"]:
        return None
    return config


def _config_first(argv: list[str]) -> tuple[str, list[str]]:
    """(the config path, the rest of the command line) of `[--config PATH] ...`."""
    rest = list(argv)
    config = None
    if rest and rest[0] == "--config" and len(rest) >= 2:
        config, rest = rest[1], rest[2:]
    elif rest and rest[0].startswith("--config="):
        config, rest = rest[0][len("--config="):], rest[1:]
    return config or "/etc/mdfleet/config.json", rest  # options/host.py DEFAULT_CONFIG


def _store_of(config_bytes: bytes) -> str | None:
    import json

    try:
        doc = json.loads(config_bytes)
    except ValueError:
        return None
    store = doc.get("store") if isinstance(doc, dict) else None
    if store is None:
        from .options.host import HOST

        store = HOST["store"].default
    return store if isinstance(store, str) and store else None


def _memo(config_path: str, now: float) -> tuple[str, tuple] | None:
    """(store root, memo) of the store ``config_path`` names, when one is there, decodes and was
    made for a run that ``now`` lies between and its horizon; None otherwise."""
    try:
        with open(config_path, "rb") as handle:
            config = handle.read()
    except OSError:
        return None
    store = _store_of(config)
    if store is None:
        return None
    root = os.path.abspath(store)
    try:
        with open(os.path.join(root, MEMO_FILE), "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError:
        return None
    doc = _decode(data)
    if doc is None or not doc[1] <= now < doc[2]:
        return None
    return root, doc + (_digest(config),)


def _unchanged(root: str, paths: tuple, identities: tuple) -> bool:
    """Whether the last run ended cleanly and everything it looked at is as it was."""
    if not os.path.exists(os.path.join(root, CLEAN_MARKER)):
        return False  # a run at work, or the last one was killed: the full run looks for what it left
    return all(identity(path) == known for path, known in zip(paths, identities, strict=True))


def replay(argv: list[str], out, err, now: float | None = None) -> int | None:
    """Answer `drive` from the quiet memo; None when the run must be made (then nothing was
    printed)."""
    if os.environ.get(OFF):
        return None
    config_path = drive_config(argv)
    if config_path is None:
        return None
    now = time.time() if now is None else now
    found = _memo(config_path, now)
    if found is None:
        return None
    root, (header, _made, _until, paths, identities, stdout, stderr, code, pages, _views, digest) = found
    if header != _header(argv, config_path, digest):
        return None
    import fcntl

    try:
        fd = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # another run is at work: the full run waits for it
        if not _unchanged(root, paths, identities):
            return None
        if not _write_pages(pages, now, os.path.join(root, CLEAN_MARKER)):
            return None
        out.write(stdout)
        out.flush()
        if stderr:
            err.write(stderr)
        return code
    finally:
        os.close(fd)  # the lock goes with it


def view_key(view: str, key_names: str | None) -> str:
    """The name of a `status` view in the memo: JSON per key names ("json" alone: the config's), HTML
    and Prometheus as they are."""
    return "json:%s" % key_names if view == "json" and key_names else view


STATUS_VIEWS = {"--json": "json", "--html": "html", "--prometheus": "prometheus"}


def status_request(argv: list[str]) -> tuple[str, str, str | None] | None:
    """(config path, view, key names or None) of `[--config PATH] status [--json|--html|--prometheus]
    [--key-names K]`; None for anything else (then the CLI parses it, and says what is wrong)."""
    config, rest = _config_first(argv)
    if not rest or rest[0] != "status":
        return None
    view, names, rest = None, None, rest[1:]
    while rest:
        word = rest.pop(0)
        if word in STATUS_VIEWS and view is None:
            view = STATUS_VIEWS[word]
        elif word == "--key-names" and rest and names is None:
            names = rest.pop(0)
        elif word.startswith("--key-names=") and names is None:
            names = word[len("--key-names="):]
        else:
            return None
    return config, view or "json", names


def replay_status(argv: list[str], out, now: float | None = None) -> int | None:
    """Answer `status` from the quiet memo of the last drive; None when the command must build the
    status (then nothing was printed)."""
    if os.environ.get(OFF):
        return None
    request = status_request(argv)
    if request is None:
        return None
    config_path, view, names = request
    now = time.time() if now is None else now
    found = _memo(config_path, now)
    if found is None:
        return None
    root, (header, _made, _until, paths, identities, _stdout, stderr, _code, pages, views, digest) = found
    drive_argv = list(header[5])  # a plain drive of this config file (however its argv spells the path)
    if drive_config(drive_argv) is None or header != _header(drive_argv, config_path, digest):
        return None
    if stderr:
        return None  # the config's warnings: the command prints them itself
    parts = dict(pages).get(dict(views).get(view_key(view, names)))
    if parts is None or not _unchanged(root, paths, identities):
        return None
    from .status.page import at, fill

    try:
        text = fill(parts, at(now))
    except (ValueError, TypeError, IndexError):  # parts this code did not write
        return None
    out.write(text)
    out.flush()
    return 0  # cli.EXIT_OK


def _write_pages(pages: tuple, now: float, marker: str) -> bool:
    """The status pages filled for ``now``, each written as the status writer does (temp file,
    fsync, rename); False when one cannot be (then the full run writes them, or says why not).
    As a locked run does (store.StoreLock), the clean-exit marker is away while they are written:
    a replay killed in the middle leaves a temp file, which the next (full) run removes."""
    from .errors import MdError
    from .fsutil import PRIVATE_MODE, PUBLIC_MODE, atomic_write, fsync_dir
    from .status.page import at, fill

    moment = at(now)
    try:
        os.unlink(marker)
        fsync_dir(os.path.dirname(marker))
        for path, parts in pages:
            atomic_write(path, fill(parts, moment).encode(), PUBLIC_MODE)
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE))  # not fsynced, as there
    except (OSError, MdError, ValueError, TypeError, IndexError):  # a full disk; parts this code did not write
        return False
    return True


def _decode(data: bytes) -> tuple | None:
    start = len(MAGIC) + 4
    if len(data) > MAX_BYTES or len(data) < start or not data.startswith(MAGIC):
        return None
    payload = data[start:]
    if zlib.crc32(payload) != int.from_bytes(data[len(MAGIC):start], "big"):
        return None
    try:
        doc = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(doc, tuple) and len(doc) == 10 and isinstance(doc[3], tuple) and isinstance(doc[4], tuple)
            and isinstance(doc[8], tuple) and isinstance(doc[9], tuple) and len(doc[3]) == len(doc[4])
            and isinstance(doc[0], tuple) and len(doc[0]) > 5 and isinstance(doc[0][5], tuple)
            and isinstance(doc[5], str) and isinstance(doc[6], str) and isinstance(doc[7], int)
            and isinstance(doc[1], float) and isinstance(doc[2], float)):
        return None
    return doc


__all__ = ["Recorder", "replay", "replay_status", "status_request", "view_key", "drive_config", "identity",
           "MEMO_FILE", "MAX_AGE", "OFF"]
