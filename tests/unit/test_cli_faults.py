"""`mdfleet drive` around faults, through cli.main: a step that fails (here the recovery, on a full
disk) is one line and the later steps still run; a bug is one line and exit 70 (EX_SOFTWARE), its
traceback only with MDFLEET_TRACEBACK=1."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from mdcore import cli
from mdcore.store import Store

MD = "www.example.org"


def host_config(tmp_path: Path, store: Store, fake_ca) -> Path:
    """The store's domain, issued and not due: a drive needs no CA."""
    path = tmp_path / "host.json"
    path.write_text(json.dumps({
        "store": store.root, "lock_wait": 0.2, "stapling": {"enabled": False},
        "defaults": {"acme_directory": fake_ca.directory_url, "agree_tos": True, "ari": False},
        "domains": [{"name": MD, "domains": [MD]}]}))
    return path


def drive(config: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--config", str(config), "drive", "--json"], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_failed_step_is_one_line_and_the_run_goes_on(run_md, make_cfg, store, fake_ca, tmp_path,
                                                       monkeypatch) -> None:
    run_md(make_cfg())
    config = host_config(tmp_path, store, fake_ca)
    full = os.path.join(store.root, "staging")

    def recover(_self) -> None:
        raise OSError(28, "No space left on device", full)

    monkeypatch.setattr(Store, "recover", recover)
    code, out, err = drive(config)
    assert code == cli.EXIT_FAILED
    assert err == "mdfleet: recovery: No space left on device (%s)\n" % full
    report = json.loads(out)
    assert report["errors"] == ["recovery: No space left on device (%s)" % full]
    assert [d["md"] for d in report["domains"]] == [MD] and report["status_files"]  # planned, reported
    doc = json.loads(Path(store.status_dir(), "md-status.json").read_text())
    assert [md["name"] for md in doc["managed-domains"]] == [MD]


def test_a_bug_is_one_line_and_exit_70(run_md, make_cfg, store, fake_ca, tmp_path, monkeypatch) -> None:
    run_md(make_cfg())
    config = host_config(tmp_path, store, fake_ca)

    def buggy(*_args, **_kwargs):
        raise KeyError("certs")

    monkeypatch.setattr(cli, "retire_unconfigured", buggy)
    monkeypatch.delenv("MDFLEET_TRACEBACK", raising=False)
    code, out, err = drive(config)
    assert code == cli.EXIT_INTERNAL == 70 and out == ""
    assert err == ("mdfleet: internal error: KeyError: 'certs' (a bug in mdfleet: please report it; "
                   "MDFLEET_TRACEBACK=1 shows where)\n")
    monkeypatch.setenv("MDFLEET_TRACEBACK", "1")
    with pytest.raises(KeyError, match="certs"):
        drive(config)
