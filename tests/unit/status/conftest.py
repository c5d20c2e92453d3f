"""Fixtures of the status tests: synthetic stores (see synth.py) at the fake clock's time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mdcore.clock import FakeClock
from mdcore.store import Store

from .synth import Spec, make_store

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "docs" / "schemas"
SECRETS = ("SECRETKEY", "EABSECRETVALUE", "ACCOUNTKEYSECRET", "PRIVATE KEY", "MIIBsynthetic")


@pytest.fixture
def synth(tmp_path: Path, clock: FakeClock) -> Callable[..., Store]:
    """synth(*specs) -> a Store holding those synthetic managed domains."""

    def make(*specs: Spec) -> Store:
        root = str(tmp_path / "synth-store")
        make_store(root, clock.now(), list(specs))
        return Store(root, clock)

    return make


def validate(doc: dict, schema_name: str) -> None:
    """Validate against docs/schemas/<name>.schema.json (jsonschema is in the venv; Debian's
    python3 may lack it: python3-jsonschema)."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / (schema_name + ".schema.json")).read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
