"""The module_utils files Ansible's AnsiballZ builder puts into a module's payload: every file reachable
from the module by an import statement anywhere in its source (the builder walks the AST, so an import
inside a function counts as much as one at the top), each package's __init__.py on the way. A mirror of
ansible.executor.module_common.recursive_finder for this collection's files, so that the tests can pin
what each module ships without building a payload (nor needing ansible, as under Debian's python3)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UTILS = ROOT / "plugins" / "module_utils"
PREFIX = ("ansible_collections", "mdfleet", "md", "plugins", "module_utils")


def _file(parts: tuple[str, ...]) -> Path | None:
    """The file of module_utils module ``parts`` (below PREFIX), or None when it is no module."""
    base = UTILS.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imports(path: Path, parts: tuple[str, ...]) -> set[tuple[str, ...]]:
    """What ``path`` (module ``parts``) imports of module_utils, as module_utils name tuples."""
    package = parts if path.name == "__init__.py" else parts[:-1]
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [tuple(alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                base = PREFIX + base
            else:
                base = ()
            mod = base + tuple(node.module.split(".")) if node.module else base
            names = [mod + (alias.name,) for alias in node.names] + [mod]
        else:
            continue
        for name in names:
            if name[:len(PREFIX)] == PREFIX and len(name) > len(PREFIX):
                found.add(name[len(PREFIX):])
    return found


def closure(module: str) -> dict[str, int]:
    """{path below plugins/module_utils: bytes} of what the payload of plugins/modules/<module>.py holds."""
    todo = _imports(ROOT / "plugins" / "modules" / (module + ".py"), ("..", module))
    seen: dict[tuple[str, ...], Path] = {}
    while todo:
        name = todo.pop()
        # `from pkg import name`: name is a module when it has a file, else an attribute of pkg
        while name and _file(name) is None:
            name = name[:-1]
        for depth in range(1, len(name) + 1):
            part = name[:depth]
            if part in seen:
                continue
            path = _file(part)
            if path is not None:
                seen[part] = path
                todo |= _imports(path, part)
    return {os.path.relpath(path, UTILS): path.stat().st_size for path in seen.values()}
