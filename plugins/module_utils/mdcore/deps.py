"""The engine's third-party libraries, checked in one place.

Engine files import cryptography inside ``try`` blocks, so that importing the
engine never fails (Ansible's import sanity test, and a clear message on a host that lacks them);
callers ask :func:`missing_libraries` first and report what is missing.
"""

from __future__ import annotations

import importlib
import sys

# zip(strict=True), X | Y type unions at run time and match statements need 3.10.
MIN_PYTHON = (3, 10)

REQUIRED = (
    ("cryptography", "cryptography (Debian: python3-cryptography)"),
)


def missing_libraries() -> list[str]:
    """Names (with the Debian package) of the libraries that cannot be imported, and a Python that
    is too old."""
    missing = []
    if sys.version_info < MIN_PYTHON:
        missing.append("Python %d.%d or newer (this is %d.%d)" % (MIN_PYTHON + sys.version_info[:2]))
    for module, label in REQUIRED:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(label)
    return missing
