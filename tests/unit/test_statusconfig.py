"""What md_status reads of a host config (mdcore/statusconfig.py): the store, stapling.others and
status.key_names, checked as mdfleet checks them; the domain entries are not parsed."""

from __future__ import annotations

import json

import pytest

from mdcore.errors import ConfigError
from mdcore.hostconfig import parse_host_config
from mdcore.statusconfig import load_status_settings

DOC = {"store": "/srv/md-store", "stapling": {"others": [{"cert": "/etc/ssl/other.pem"}], "keep": "3d"},
       "status": {"key_names": "mod_md"}, "reload": {"test_command": ["/bin/true"]},
       "domains": [{"name": "one", "domains": ["one.example"]}],
       "defaults": {"acme_directory": "https://ca.test/dir", "agree_tos": True}}


def _load(tmp_path, doc) -> object:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return load_status_settings(str(path))


def test_the_settings_are_those_mdfleet_reads(tmp_path):
    settings = _load(tmp_path, DOC)
    host = parse_host_config(DOC, "config.json")
    assert (settings.store, list(settings.others), settings.key_names) == \
        (host.store, [o["cert"] for o in host.stapling.others], host.status_key_names) == \
        ("/srv/md-store", ["/etc/ssl/other.pem"], "mod_md")


def test_absent_sections_take_the_defaults(tmp_path):
    settings = _load(tmp_path, {"domains": []})
    assert (settings.store, settings.others, settings.key_names) == ("/var/lib/mdfleet", (), "mdfleet")


def test_domain_entries_are_left_to_mdfleet(tmp_path):
    """A domain entry that only mdfleet check-config parses (an unknown key type) does not stop the status."""
    doc = dict(DOC, domains=[{"name": "one", "domains": ["one.example"], "key_types": ["rsa1024"]}])
    with pytest.raises(ConfigError):
        parse_host_config(doc, "config.json")
    assert _load(tmp_path, doc).store == "/srv/md-store"


@pytest.mark.parametrize("change, says", [
    ({"stapling": {"others": [{"path": "/x.pem"}]}}, "stapling.others"),
    ({"status": {"key_names": "apache"}}, "status.key_names: must be one of mdfleet, mod_md, not 'apache'"),
    ({"store": 5}, "store: must be a string, not 5"),
    ({"stores": "/x"}, "top level: unknown key stores"),
    ({"stapling": []}, "stapling: must be an object"),
])
def test_bad_settings_are_named(tmp_path, change, says):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, dict(DOC, **change))
    assert says in str(err.value) and str(err.value).startswith(str(tmp_path / "config.json") + ": ")


def test_a_file_that_is_no_json_object_is_named(tmp_path):
    (tmp_path / "config.json").write_text("[1]")
    with pytest.raises(ConfigError, match="top level: must be a JSON object"):
        load_status_settings(str(tmp_path / "config.json"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_status_settings(str(tmp_path / "missing.json"))
