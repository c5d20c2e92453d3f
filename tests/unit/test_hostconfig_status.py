"""The host config's status section: prometheus_file, publish_dir, key_names, with clear errors."""

from __future__ import annotations

import pytest

from mdcore.errors import ConfigError
from mdcore.hostconfig import parse_host_config

BASE = {"store": "/var/lib/mdfleet", "domains": []}


def parse(status: dict):
    return parse_host_config(dict(BASE, status=status), "/etc/mdfleet/config.json")


def test_defaults_and_values():
    assert (parse({}).status_publish_dir, parse({}).status_key_names) == (None, "mdfleet")
    cfg = parse({"publish_dir": "/var/www/md-status", "key_names": "mod_md", "prometheus_file": "/x/m.prom"})
    assert (cfg.status_publish_dir, cfg.status_key_names, cfg.prometheus_file) == \
        ("/var/www/md-status", "mod_md", "/x/m.prom")


@pytest.mark.parametrize("status,says", [
    ({"publish_dir": "/var/lib/mdfleet/status"}, "status.publish_dir: /var/lib/mdfleet/status is inside the store"),
    ({"publish_dir": "www/md-status"}, "status.publish_dir: must be an absolute path"),
    ({"publish_dir": 5}, "status.publish_dir: must be a string, not 5"),
    ({"key_names": "apache"}, "status.key_names: must be one of mdfleet, mod_md, not 'apache'"),
    ({"prometheus_file": ["a"]}, "status.prometheus_file: must be a string, not ['a']"),
    ({"html": True}, "status: unknown key html (known: prometheus_file, publish_dir, key_names)"),
])
def test_bad_status_options_are_named(status, says):
    with pytest.raises(ConfigError) as err:
        parse(status)
    assert says in str(err.value) and str(err.value).startswith("/etc/mdfleet/config.json: ")
