"""deps.missing_libraries: what a host lacks, named with the Debian package, and a too old Python."""

from __future__ import annotations

import sys

from mdcore import deps


def test_nothing_missing_here():
    assert deps.missing_libraries() == []


def test_old_python_is_named(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 2, "final", 0))
    assert deps.missing_libraries() == ["Python 3.10 or newer (this is 3.9)"]


def test_missing_library_names_the_debian_package(monkeypatch):
    real = deps.importlib.import_module

    def fake(name):
        if name == "cryptography":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(deps.importlib, "import_module", fake)
    assert deps.missing_libraries() == ["cryptography (Debian: python3-cryptography)"]
