"""Missing peer binaries: skip locally with the reason, fail in CI (CI=true)."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(binary: str) -> str:
    """Path of `binary` (a name on PATH or an absolute path); skip, or fail in CI, when absent.

    CI must never go green by skipping its real peers, so there a missing one is an error.
    """
    found = shutil.which(binary)
    if found:
        return found
    reason = f"{binary} is not installed (scripts/install-deps.sh installs it)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true, so a missing peer is an error", pytrace=False)
    pytest.skip(reason)
