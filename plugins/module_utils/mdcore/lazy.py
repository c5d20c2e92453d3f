"""Names a package gives from its submodules, each imported on first use.

Why not plain re-exports in __init__.py: Ansible's AnsiballZ builder ships every file an import
statement reaches (it reads the AST, so an import inside a function counts too), and a module that
needs one submodule of a package (md_status: ocsp.state) would ship the whole package and what it
imports (the HTTP client, ...), and the host would import it. import_module is no import statement:
the builder does not follow it. So the engine's own files and the modules import submodules
(``from ..ocsp.state import OcspStatus``), and the package names serve callers outside the payload
(the CLI zipapp holds every file; tests). tests/unit/test_payload.py checks that no file of
plugins/ imports a name through such a table.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_names(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: name -> the submodule (relative) that defines it."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - PEP 562's name
        if name not in where:
            raise AttributeError("module %r has no attribute %r" % (package, name))
        return getattr(import_module("." + where[name], package), name)

    return __getattr__
