# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bytecode cache for this collection's module_utils imported from an AnsiballZ zip (zipimport compiles
every file at every run, twice on Python 3.11). Ansible glue, never imported by the engine; importing it
installs the finder. What it trusts, where it lives and its off switch: docs/architecture.md."""

from __future__ import annotations

import _imp
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import pwd
import stat
import sys
import zipimport

ENV = "MDFLEET_BYTECODE_CACHE"
OFF = "off"
PREFIX = "ansible_collections.mdfleet.md.plugins.module_utils."
# an entry: magic number, sha256 of the source, sha256 of the marshalled code, the code
_HEADER = len(importlib.util.MAGIC_NUMBER) + 64


def cache_folder() -> str | None:
    """The folder the cache lives in, or None when it is off."""
    configured = os.environ.get(ENV, "")
    if configured == OFF:
        return None
    if configured:
        return configured
    try:
        home = pwd.getpwuid(os.geteuid()).pw_dir  # the effective user's, not $HOME (become may keep it)
    except KeyError:
        return None
    return os.path.join(home, ".cache", "mdfleet", "bytecode")


def _own(st: os.stat_result, mode: int) -> bool:
    return st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == mode


def _open_folder(path: str) -> int | None:
    """A descriptor of the cache folder (made 0700 if missing), or None when it is not ours alone."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if _own(os.fstat(fd), 0o700):
        return fd
    os.close(fd)
    return None


class _Cache:
    """The entries of one folder: code by source digest."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = -1  # opened on first use; None: not usable

    def _folder(self) -> int | None:
        if self.fd == -1:
            self.fd = _open_folder(self.path)
        return self.fd

    def load(self, digest: bytes):
        """The code stored for ``digest``, or None (missing, not the user's own, corrupt)."""
        folder = self._folder()
        if folder is None:
            return None
        try:
            fd = os.open(digest.hex(), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as entry:
            st = os.fstat(fd)
            data = entry.read() if stat.S_ISREG(st.st_mode) and _own(st, 0o600) else b""
        body = data[_HEADER:]
        if data[:_HEADER] != importlib.util.MAGIC_NUMBER + digest + hashlib.sha256(body).digest():
            return None
        try:
            return marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return None

    def store(self, digest: bytes, code) -> None:
        """Keep ``code`` for ``digest``: temp file + fsync + rename, 0600; a failure only loses the entry."""
        folder = self._folder()
        if folder is None:
            return
        body = marshal.dumps(code)
        temp = "%s.%d.tmp" % (digest.hex(), os.getpid())
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(importlib.util.MAGIC_NUMBER + digest + hashlib.sha256(body).digest() + body)
                out.flush()
                os.fsync(fd)
            os.replace(temp, digest.hex(), src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            os.unlink(temp, dir_fd=folder)


class _Loader:
    """The code of a module of the zip, from the cache."""

    def __init__(self, importer: zipimport.zipimporter, origin: str, source: bytes, cache: _Cache) -> None:
        self._zip = importer
        self._origin = origin
        self._source = source
        self._cache = cache

    def get_source(self, fullname: str) -> str:
        return self._zip.get_source(fullname)  # for tracebacks (linecache)

    def get_filename(self, fullname: str) -> str:
        return self._origin

    def is_package(self, fullname: str) -> bool:
        return False

    def create_module(self, spec):
        return None  # the default module object

    def get_code(self, fullname: str):
        digest = hashlib.sha256(self._source).digest()
        code = self._cache.load(digest)
        if code is None:
            code = compile(self._source, self._origin, "exec", dont_inherit=True)
            self._cache.store(digest, code)
        else:  # tracebacks name this run's zip, not the one that filled the cache (as importlib does for .pyc)
            _imp._fix_co_filename(code, self._origin)
        return code

    def exec_module(self, module) -> None:
        exec(self.get_code(module.__name__), module.__dict__)


def _zip_importer(entry: str) -> zipimport.zipimporter | None:
    """The zipimporter of a package's path entry, or None when the entry is no folder inside a zip."""
    importer = sys.path_importer_cache.get(entry)
    if importer is None and ".zip" in entry:
        try:
            importer = zipimport.zipimporter(entry)
        except zipimport.ZipImportError:
            return None
        sys.path_importer_cache[entry] = importer
    return importer if isinstance(importer, zipimport.zipimporter) else None


class BytecodeFinder:
    """Meta-path finder for this collection's module_utils modules inside a zip. It reads them itself:
    zipimport's find_spec compiles the module once to answer (Python 3.11), and its loader again."""

    def __init__(self, cache: _Cache) -> None:
        self.cache = cache

    def find_spec(self, fullname: str, path=None, target=None):
        if not fullname.startswith(PREFIX) or not path:
            return None
        for entry in path:
            importer = _zip_importer(entry)
            if importer is None:
                continue
            origin = os.path.join(entry, fullname.rpartition(".")[2] + ".py")
            try:
                if importer.is_package(fullname):
                    return None  # a package's __init__ (small): zipimport's
                source = importer.get_data(origin)
            except (zipimport.ZipImportError, OSError):
                continue
            spec = importlib.machinery.ModuleSpec(fullname, _Loader(importer, origin, source, self.cache),
                                                  origin=origin)
            spec.has_location = True
            return spec
        return None


def install() -> BytecodeFinder | None:
    """Put the finder on sys.meta_path (once), just before the path finder that would import from the zip:
    finders others put first (ansible-test's, coverage's) stay first. None when the cache is off."""
    for finder in sys.meta_path:
        if isinstance(finder, BytecodeFinder):
            return finder
    folder = cache_folder()
    if folder is None:
        return None
    finder = BytecodeFinder(_Cache(folder))
    where = [i for i, other in enumerate(sys.meta_path) if other is importlib.machinery.PathFinder]
    sys.meta_path.insert(where[0] if where else len(sys.meta_path), finder)
    return finder


install()  # at import: the engine's imports that follow this one are served from the cache
