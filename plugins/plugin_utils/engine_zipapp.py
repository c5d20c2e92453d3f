# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine (plugins/module_utils/mdcore) as one executable zipapp, built on the controller.

    #!<python> -I                    the shebang: the file is the mdfleet command
    __main__.py (+ .pyc)             runs mdcore.__main__.main() (the quiet memo, then the CLI)
    mdcore/<file>.py (+ .pyc)        every engine file, with its bytecode beside it
    mdcore/_build.py (+ .pyc)        BUILD: version, sha256 of the sources, bytecode tag

Deterministic: the same sources, interpreter and Python give the same bytes (sorted entries,
fixed timestamps and modes, stored uncompressed, hash-based .pyc files without mtimes), so a host
whose file has the build's checksum has nothing to copy. marshal's output depends on the reference
counts of the objects it writes (an object referenced once gets no back-reference), so what else
a process has imported changes the bytecode's bytes: the .pyc files are compiled by a fresh
interpreter (no site, fixed hash seed) that imports nothing else. Bytecode: zipimport never writes .pyc
files, and the hardened mdfleet.service could not write them anyway (ProtectSystem=strict), so
they are compiled here, by the controller's Python, as unchecked hash-based .pyc (PEP 552: valid
whatever the file times). A host whose Python has another bytecode version (magic number)
ignores them and compiles the sources in memory at each start, as before.

Standard library only: the action plugin engine_install and the tests import it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass

PACKAGE = "mdcore"
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can have
FILE_MODE = 0o100644
PYC_UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked
COMPILE_SECONDS = 120
# Runs in the fresh interpreter: [[filename, base64 source], ...] on stdin -> [base64 .pyc, ...].
COMPILER = """
import base64, importlib.util, json, marshal, sys
out = []
for filename, text in json.load(sys.stdin):
    source = base64.b64decode(text)
    try:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    except SyntaxError as exc:
        sys.stdout.write(json.dumps({"error": "%s does not compile: %s" % (filename, exc)}))
        sys.exit(1)
    pyc = importlib.util.MAGIC_NUMBER + int(PYC_FLAGS).to_bytes(4, "little") + importlib.util.source_hash(source)
    out.append(base64.b64encode(pyc + marshal.dumps(code)).decode())
sys.stdout.write(json.dumps(out))
""".replace("PYC_FLAGS", str(PYC_UNCHECKED_HASH))
VERSION_RE = re.compile(r'^VERSION = "([^"]+)"$', re.M)
MAIN = '''"""mdfleet: the engine of the mdfleet.md collection as one zipapp (mdcore/_build.py says which)."""

from mdcore.__main__ import main

if __name__ == "__main__":
    main()
'''


class BuildError(Exception):
    """The engine's sources cannot be read or do not compile."""


@dataclass(frozen=True)
class Build:
    data: bytes  # the whole file, shebang included
    version: str  # mdcore.VERSION
    sources_sha256: str  # over every source file's path and content
    sha256: str  # of ``data``
    bytecode: str  # sys.implementation.cache_tag of the .pyc files, e.g. cpython-311
    files: int  # engine source files

    def info(self) -> dict:
        """Everything but the bytes (what the engine_install action returns and caches)."""
        return {"version": self.version, "sources_sha256": self.sources_sha256, "sha256": self.sha256,
                "bytecode": self.bytecode, "files": self.files, "size": len(self.data)}


def source_files(source_dir: str) -> list[tuple[str, bytes]]:
    """(path inside the package with / separators, content) of every .py file, sorted."""
    found = []
    for folder, dirs, files in os.walk(source_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in files:
            if name.endswith(".py") and not name.startswith("."):
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    found.append((os.path.relpath(path, source_dir).replace(os.sep, "/"), handle.read()))
    if not any(rel == "__init__.py" for rel, _data in found):
        raise BuildError("%s is not the engine's package: it has no __init__.py" % source_dir)
    return sorted(found)


def compile_all(modules: list[tuple[str, bytes]]) -> list[bytes]:
    """The .pyc (PEP 552, unchecked hash) of each (filename, source), by a fresh interpreter."""
    request = json.dumps([[name, base64.b64encode(data).decode()] for name, data in modules])
    env = {"PYTHONHASHSEED": "0", "PATH": os.defpath}
    try:
        proc = subprocess.run([sys.executable, "-S", "-s", "-B", "-c", COMPILER], input=request.encode(), env=env,
                              cwd="/", capture_output=True, timeout=COMPILE_SECONDS, check=False)
        answer = json.loads(proc.stdout.decode() or "null")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise BuildError("cannot compile the engine with %s: %s" % (sys.executable, exc)) from None
    if isinstance(answer, dict) and "error" in answer:
        raise BuildError(answer["error"])
    if proc.returncode != 0 or not isinstance(answer, list) or len(answer) != len(modules):
        raise BuildError("compiling the engine with %s failed: %s" % (
            sys.executable, proc.stderr.decode(errors="replace").strip()[-500:] or "no answer"))
    return [base64.b64decode(pyc) for pyc in answer]


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.create_system = 3  # unix, so that external_attr holds the mode
    info.external_attr = FILE_MODE << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def sources_sha256(sources: list[tuple[str, bytes]]) -> str:
    """One digest over every source file's path and content."""
    digest = hashlib.sha256()
    for rel, data in sources:
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def inputs_key(sources: list[tuple[str, bytes]], interpreter: str, location: str) -> str:
    """What the bytes of a build depend on (sources, shebang, paths in tracebacks, bytecode
    version), so that a build can be reused without building again."""
    return hashlib.sha256("\0".join((sources_sha256(sources), interpreter, location, sys.implementation.cache_tag,
                                     sys.version)).encode()).hexdigest()


def build(source_dir: str, interpreter: str, location: str, sources: list[tuple[str, bytes]] | None = None) -> Build:
    """The zipapp of the engine in ``source_dir`` (its :func:`source_files`, when already read),
    run by ``interpreter``, to be installed at ``location`` (the path tracebacks name: what
    zipimport itself would put there)."""
    sources = source_files(source_dir) if sources is None else sources
    found = VERSION_RE.search(dict(sources)["__init__.py"].decode("utf-8", "replace"))
    if not found:
        raise BuildError("%s/__init__.py does not say VERSION = \"...\"" % source_dir)
    build_info = {"version": found.group(1), "sources_sha256": sources_sha256(sources),
                  "bytecode": sys.implementation.cache_tag, "files": len(sources)}
    build_module = ('"""Which engine this zipapp holds (written by plugins/plugin_utils/engine_zipapp.py)."""\n\n'
                    "BUILD = %r\n" % (dict(sorted(build_info.items())),)).encode()
    modules = [("__main__.py", MAIN.encode())] + [("%s/%s" % (PACKAGE, rel), data) for rel, data in sources] + \
        [(PACKAGE + "/_build.py", build_module)]
    # each module's source and its .pyc beside it, where zipimport looks; tracebacks name
    # <location>/<module>, as zipimport does for what it compiles itself
    pycs = compile_all([(location + "/" + name, data) for name, data in modules])
    out = io.BytesIO()
    out.write(b"#!" + interpreter.encode() + b" -I\n")
    with zipfile.ZipFile(out, "w") as archive:
        for (name, data), pyc in zip(modules, pycs, strict=True):
            _entry(archive, name, data)
            _entry(archive, name + "c", pyc)
    data = out.getvalue()
    return Build(data=data, sha256=hashlib.sha256(data).hexdigest(), **build_info)


__all__ = ["Build", "BuildError", "build", "compile_all", "inputs_key", "source_files", "sources_sha256"]
