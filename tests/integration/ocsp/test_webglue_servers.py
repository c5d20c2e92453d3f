"""`mdfleet webglue` against real web servers, as the engine runs it (a process, the glue file the
role writes): nginx serves ssl_stapling_file only for a staple the staple book vouches for, and its
config test passes whatever the staple file holds; haproxy 2.6 (master-worker, as systemd runs
it) gets combined crt files, and `webglue reload` returns only once the new worker serves the new
certificate. All on 127.0.0.1 in a private network namespace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from mdcore.clock import Clock
from mdcore.ocsp import OcspStatus, managed_targets, refresh_staples
from peers.nginx import NGINX, Nginx, TlsSite
from peers.ocsp_pki import install_md
from peers.require import need
from peers.wait import poll

from .haproxy_peer import HAPROXY, Haproxy
from .util import managed_leaf, s_client_status

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")


def webglue(glue: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=UTILS)
    return subprocess.run([sys.executable, "-m", "mdcore", "webglue", "--file", str(glue), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def stapled(port: int, name: str) -> str | None:
    """The OCSP cert status nginx/haproxy staples, None when it sends no staple."""
    out = s_client_status(port, name)
    found = re.search(r"Cert Status: (\w+)", out)
    return found.group(1) if found else None


def test_nginx_staples_only_what_the_book_vouches_for(tmp_path, pki, responder, web):
    nginx_bin = need(NGINX)
    leaf, store = managed_leaf(tmp_path, pki, responder, "glue.nginx.test")
    (web / "stapling").mkdir()
    (web / "ocsp").mkdir()
    include = web / "stapling" / (leaf.name + ".conf")
    site = TlsSite(cert=Path(leaf.fullchain_path), key=Path(leaf.key_path), server_name=leaf.name,
                   extra="include %s;" % include)
    nginx = Nginx(tmp_path / "nginx", tls_sites=[site], binary=nginx_bin)
    nginx.write_config()
    glue = write(tmp_path / "webglue.json", {
        "server": "nginx", "store": store.root, "test_command": nginx._argv("-t", "-q"),
        "reload_command": nginx._argv("-s", "reload"),
        "nginx": {"stapling_dir": str(web / "stapling"), "ocsp_dir": str(web / "ocsp")}})

    first = webglue(glue, "sync")  # no staple yet: a comment, and nginx's test passes
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"changed": [str(include)]} and "ssl_stapling" not in include.read_text()
    with nginx:
        assert stapled(site.port, leaf.name) is None
        staple_file = web / "ocsp" / (leaf.name + ".p256.der")
        targets = managed_targets(store, {leaf.name: {"staple_file": str(staple_file)}})
        [res] = refresh_staples(store, targets, Clock())
        assert res.status == OcspStatus.GOOD and str(staple_file) in res.changed_files

        synced = webglue(glue, "sync")
        assert synced.returncode == 0, synced.stderr
        assert "ssl_stapling_file %s;" % staple_file in include.read_text()
        assert webglue(glue, "reload").returncode == 0
        assert poll(lambda: stapled(site.port, leaf.name) == "good", 15, "nginx stapling after reload")

        # a staple file the book did not verify: left out, and the config test still passes
        staple_file.write_bytes(b"\x30\x03\x0a\x01\x06")  # an OCSP "unauthorized" answer
        tampered = webglue(glue, "sync")
        assert tampered.returncode == 0, tampered.stderr
        assert "ssl_stapling" not in include.read_text()


def test_haproxy_reload_waits_until_the_new_worker_serves_the_new_certificate(tmp_path, pki, responder, web):
    haproxy_bin = need(HAPROXY)
    leaf, store = managed_leaf(tmp_path, pki, responder, "glue.haproxy.test")
    certs = web / "certs"
    certs.mkdir(mode=0o700)
    haproxy = Haproxy(tmp_path / "haproxy", str(certs) + "/", binary=haproxy_bin, master_worker=True)
    glue = write(tmp_path / "webglue.json", {
        "server": "haproxy", "store": store.root,
        "test_command": [haproxy_bin, "-c", "-q", "-f", str(haproxy.conf_path)],
        "haproxy": {"cert_dir": str(certs), "socket": haproxy.socket}})
    haproxy.conf_path.parent.mkdir(parents=True, exist_ok=True)
    haproxy.conf_path.write_text(haproxy.config())
    first = webglue(glue, "sync")
    assert first.returncode == 0, first.stderr
    crt = certs / (leaf.name + ".p256.pem")
    assert json.loads(first.stdout) == {"changed": [str(crt)]} and oct(crt.stat().st_mode & 0o777) == "0o600"

    with haproxy:
        assert "Verify return code" in s_client_status(haproxy.port, leaf.name)
        renewed = pki.issue(leaf.name, responder.url)
        install_md(store, leaf.name, renewed)
        doc = json.loads(glue.read_text())
        write(glue, dict(doc, reload_command=haproxy.reload_command()))
        assert webglue(glue, "sync").returncode == 0
        reload = webglue(glue, "reload", "--timeout", "20")
        assert reload.returncode == 0, reload.stderr
        # right after the reload returned: the new worker serves the new certificate
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % haproxy.port, "-servername",
                              leaf.name], input="", capture_output=True, text=True, timeout=20, check=False).stdout
        served = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=out, capture_output=True, text=True,
                                timeout=20, check=False).stdout
        assert served.strip() == "serial=%X" % renewed.cert.serial_number

        # a reload that does not reload: the wait ends at its deadline, naming the file
        install_md(store, leaf.name, pki.issue(leaf.name, responder.url))
        assert webglue(glue, "sync").returncode == 0
        write(glue, dict(doc, reload_command=["/bin/true"]))
        stale = webglue(glue, "reload", "--timeout", "1")
        assert stale.returncode == 1 and "haproxy does not serve %s after 1s" % crt in stale.stderr
