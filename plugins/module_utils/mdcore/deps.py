"""The engine's third-party libraries, checked in one place.

Engine files import cryptography, requests and josepy inside ``try`` blocks, so that importing the
engine never fails (Ansible's import sanity test, and a clear message on a host that lacks them);
callers ask :func:`missing_libraries` first and report what is missing.
"""

from __future__ import annotations

import importlib

REQUIRED = (
    ("cryptography", "cryptography (Debian: python3-cryptography)"),
    ("requests", "requests (Debian: python3-requests)"),
    ("josepy", "josepy (Debian: python3-josepy)"),
)


def missing_libraries() -> list[str]:
    """Names (with the Debian package) of the libraries that cannot be imported."""
    missing = []
    for module, label in REQUIRED:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(label)
    return missing
