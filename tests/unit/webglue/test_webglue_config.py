"""webglue.json: what the role writes parses; everything else is refused naming file and key."""

from __future__ import annotations

import json

import pytest

from mdcore.errors import ConfigError
from mdcore.webglue.config import Server, load_glue_config, parse_glue_config

GOOD = {"server": "nginx", "store": "/var/lib/mdfleet", "test_command": ["/usr/sbin/nginx", "-t", "-q"],
        "reload_command": ["/usr/bin/systemctl", "reload", "nginx"],
        "nginx": {"stapling_dir": "/etc/nginx/mdfleet/stapling", "ocsp_dir": "/etc/nginx/mdfleet/ocsp"},
        "haproxy": {"cert_dir": "/etc/haproxy/mdfleet-certs", "socket": "/run/haproxy/admin.sock"}}


def test_what_the_role_writes_parses():
    cfg = parse_glue_config(GOOD, "/etc/mdfleet/webglue.json")
    assert cfg.server == Server.NGINX and cfg.store == "/var/lib/mdfleet"
    assert cfg.test_command == ["/usr/sbin/nginx", "-t", "-q"] and cfg.reload_command[-1] == "nginx"
    assert cfg.nginx_stapling_dir.endswith("/stapling") and cfg.haproxy_socket == "/run/haproxy/admin.sock"


def test_apache_needs_no_folders():
    cfg = parse_glue_config({"server": "apache2", "store": "/var/lib/mdfleet"})
    assert cfg.server == Server.APACHE2 and cfg.test_command == [] and cfg.haproxy_socket == ""


@pytest.mark.parametrize("change, message", [
    ({"server": "lighttpd"}, "webglue.json: server: 'lighttpd' is not one of nginx, haproxy, apache2, none"),
    ({"server": None}, "webglue.json: server: None is not one of"),
    ({"store": "relative/store"}, "webglue.json: store: must be an absolute path"),
    ({"store": 5}, "webglue.json: store: must be an absolute path"),
    ({"test_command": "nginx -t"}, "webglue.json: test_command: must be a list of arguments (no shell string)"),
    ({"reload_command": ["systemctl", ""]}, "webglue.json: reload_command: must be a list of arguments"),
    ({"colour": "blue"}, "webglue.json: top level: unknown key(s) colour"),
    ({"nginx": []}, "webglue.json: nginx: must be an object"),
    ({"nginx": {"stapling_dir": "/x", "ocsp_dir": "/y", "extra": "/z"}}, "webglue.json: nginx: unknown key(s) extra"),
    ({"nginx": {"stapling_dir": "/x"}}, "webglue.json: nginx.ocsp_dir: must be an absolute path"),
    ({"nginx": {"stapling_dir": "/x", "ocsp_dir": 7}}, "webglue.json: nginx.ocsp_dir: must be a string"),
])
def test_bad_input_is_refused_with_file_and_key(change, message):
    with pytest.raises(ConfigError) as err:
        parse_glue_config(dict(GOOD, **change))
    assert str(err.value).startswith(message)


def test_haproxy_needs_its_cert_dir():
    with pytest.raises(ConfigError, match=r"haproxy.cert_dir: must be an absolute path"):
        parse_glue_config(dict(GOOD, server="haproxy", haproxy={"socket": ""}))


def test_top_level_must_be_an_object():
    with pytest.raises(ConfigError, match="top level: must be a JSON object"):
        parse_glue_config([GOOD])


def test_files_that_cannot_be_read_or_parsed(tmp_path):
    with pytest.raises(ConfigError, match=r"missing.json: cannot read: No such file"):
        load_glue_config(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"server": ')
    with pytest.raises(ConfigError, match=r"broken.json: not valid JSON"):
        load_glue_config(str(broken))
    good = tmp_path / "webglue.json"
    good.write_text(json.dumps(GOOD))
    assert load_glue_config(str(good)).path == str(good)
