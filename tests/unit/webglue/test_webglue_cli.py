"""`mdfleet webglue sync|reload`: the glue file beside --config, the JSON line of changed files,
the config test's and reload's exit codes passed on, clear one-line errors."""

from __future__ import annotations

import io
import json
import sys

from mdcore.cli import main

from .conftest import MD

PY = sys.executable


def write_glue(tmp_path, store, web, **extra) -> str:
    doc = {"server": "nginx", "store": store.root,
           "nginx": {"stapling_dir": str(web / "stapling"), "ocsp_dir": str(web / "ocsp")}}
    doc.update(extra)
    path = tmp_path / "etc" / "webglue.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc))
    return str(path)


def mdfleet(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_sync_finds_the_glue_file_beside_the_config_and_runs_the_test(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, test_command=[PY, "-c", "raise SystemExit(7)"])
    config = str(tmp_path / "etc" / "config.json")  # need not exist: webglue reads only its own file
    code, out, err = mdfleet("--config", config, "webglue", "sync")
    assert code == 7 and err == ""
    assert json.loads(out) == {"changed": [str(web / "stapling" / (MD + ".conf"))]}
    code, out, _err = mdfleet("--config", config, "webglue", "--file", glue, "sync", "--no-test")
    assert code == 0 and json.loads(out) == {"changed": []}


def test_sync_without_a_test_command_only_writes(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web)
    assert mdfleet("webglue", "--file", glue, "sync")[0] == 0


def test_reload_passes_the_reload_commands_exit_code_on(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, reload_command=[PY, "-c", "raise SystemExit(4)"])
    assert mdfleet("webglue", "--file", glue, "reload") == (4, "", "")


def test_reload_with_test_writes_tests_then_reloads(tmp_path, store, web):
    mark = tmp_path / "reloaded"
    glue = write_glue(tmp_path, store, web, test_command=[PY, "-c", "pass"],
                      reload_command=[PY, "-c", "open(%r, 'w').close()" % str(mark)])
    code, out, err = mdfleet("webglue", "--file", glue, "reload", "--test")
    assert (code, err) == (0, "") and mark.exists()
    assert json.loads(out) == {"changed": [str(web / "stapling" / (MD + ".conf"))]}


def test_reload_with_a_failing_test_never_reloads(tmp_path, store, web):
    mark = tmp_path / "reloaded"
    glue = write_glue(tmp_path, store, web, test_command=[PY, "-c", "raise SystemExit(3)"],
                      reload_command=[PY, "-c", "open(%r, 'w').close()" % str(mark)])
    code, _out, _err = mdfleet("webglue", "--file", glue, "reload", "--test")
    assert code == 3 and not mark.exists()


def test_haproxy_not_serving_in_time_is_exit_1_naming_the_file(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, server="haproxy", reload_command=[PY, "-c", "pass"],
                      haproxy={"cert_dir": str(web / "certs"), "socket": str(tmp_path / "gone.sock")})
    assert mdfleet("webglue", "--file", glue, "sync")[0] == 0
    code, _out, err = mdfleet("webglue", "--file", glue, "reload", "--timeout", "0.3")
    assert code == 1
    assert err == "mdfleet webglue: haproxy does not serve %s after 0.3s\n" % (web / "certs" / (MD + ".p256.pem"))


def test_a_bad_glue_file_is_exit_2(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, server="lighttpd")
    code, out, err = mdfleet("webglue", "--file", glue, "sync")
    assert code == 2 and out == ""
    assert err == "mdfleet: configuration error: %s: server: 'lighttpd' is not one of nginx, haproxy, " \
                  "apache2, none\n" % glue


def test_a_missing_command_is_exit_1_with_its_name(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, test_command=[str(tmp_path / "no-nginx"), "-t"])
    code, _out, err = mdfleet("webglue", "--file", glue, "sync")
    assert code == 1 and err == "mdfleet: %s: command not found\n" % (tmp_path / "no-nginx")


def test_an_unwritable_folder_is_exit_1(tmp_path, store, web):
    glue = write_glue(tmp_path, store, web, nginx={"stapling_dir": str(tmp_path / "none"), "ocsp_dir": "/x"})
    code, out, err = mdfleet("webglue", "--file", glue, "sync")
    assert code == 1 and out == "" and err.startswith("mdfleet: cannot write %s/none/" % tmp_path)
