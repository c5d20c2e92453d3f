"""The role's filter plugins, called as Ansible calls them: names follow the engine's rules."""

from __future__ import annotations

import pytest

pytest.importorskip("ansible", reason="ansible-core is only in the venv")


@pytest.fixture(scope="module")
def filters(collection_plugin):
    return collection_plugin("plugins.filter.managed_domains")


def test_names_use_idna_2008_as_the_engine(filters):
    """Python's IDNA 2003 codec made 'faß.de' into 'fass.de' (another domain) in the filter's own
    copy of the rule; now the filter calls the engine's."""
    from mdcore.config import md_config_from_dict

    entries = [{"domains": ["faß.de", "WWW.faß.de"]}, {"domains": ["*.Bücher.example"], "challenge": "dns-01"}]
    mds = filters.managed_domains(entries)
    assert [md["name"] for md in mds] == ["xn--fa-hia.de", "_.xn--bcher-kva.example"]
    assert mds[0]["domains"] == ["xn--fa-hia.de", "www.xn--fa-hia.de"]  # what server_name must match
    engine = md_config_from_dict(dict(entries[0], acme_directory="https://ca.test/dir"))
    assert engine.name == mds[0]["name"] and engine.domains == mds[0]["domains"]


def test_invalid_name_fails_with_the_engines_message(filters):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"managed_domains_domains\[1\]: .*at most 63"):
        filters.managed_domains([{"domains": ["ok.example"]}, {"domains": ["ok.example", "x" * 70 + ".example"]}])


def test_one_name_twice_is_refused(filters):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="already used"):
        filters.managed_domains([{"domains": ["A.example"]}, {"domains": ["a.example"]}])


def test_ready_key_types_come_from_one_find_in_the_configured_order(collection_plugin):
    ready = collection_plugin("plugins.filter.managed_domains_ready")
    mds = [{"name": "a.example", "key_types": ["rsa2048", "p256"]}, {"name": "b.example", "key_types": ["p256"]}]
    found = ["/s/domains/a.example/p256/fullchain.pem", "/s/domains/a.example/rsa2048/fullchain.pem",
             "/s/domains/other.example/p256/fullchain.pem", "/s/domains/b.example/p384/fullchain.pem"]
    assert ready.managed_domains_ready(mds, found, "/s/") == {"a.example": ["rsa2048", "p256"], "b.example": []}
    assert ready.managed_domains_ready(mds, [], "/s") == {"a.example": [], "b.example": []}
