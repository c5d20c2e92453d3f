"""config.json and module parameters are checked strictly (issue 10 item 6, item 7's NaN): every
broken value is a ConfigError naming the file and the key, never a traceback, never a value read
with another meaning. A corpus of the cases users met, then property-based tests (hypothesis)
over random mutations of a valid config and random parameters."""

from __future__ import annotations

import copy
import json
import re

import pytest

from mdcore.config import md_config_from_dict
from mdcore.errors import ConfigError
from mdcore.hostconfig import load_host_config, parse_host_config
from mdcore.options.modules import ACME_MD_ORDER

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

PATH = "/etc/mdfleet/config.json"
CA = "https://ca.test/dir"
BASE = {
    "comment": "test",
    "store": "/var/lib/mdfleet",
    "challenges_dir": "/var/lib/mdfleet-challenges",
    "workers": 4,
    "lock_wait": 600,
    "defaults": {"acme_directory": CA, "contact": ["hostmaster@example.org"], "agree_tos": True, "ari": True},
    "domains": [
        {"name": "shop", "domains": ["shop.example.org", "www.shop.example.org"], "key_types": ["p256", "rsa2048"],
         "renew_window": "33%", "order_timeout": 300},
        {"domains": ["*.example.net", "example.net"], "challenge": "dns-01", "dns_command": ["/usr/local/bin/hook"],
         "cas": [{"url": "https://ca2.test/dir", "eab_kid": "kid", "eab_hmac_key": "c2VjcmV0"}]},
    ],
    "message_cmd": ["/usr/local/bin/md-event"],
    "message_timeout": 30,
    "stapling": {"enabled": True, "window": "33%", "timeout": 10, "keep": "7d", "proxy": "http://proxy.test:3128",
                 "others": [{"cert": "/etc/ssl/other.pem", "staple_file": "/etc/nginx/other.der"}]},
    "reload": {"test_command": ["/usr/sbin/nginx", "-t"], "reload_command": ["/bin/systemctl", "reload", "nginx"]},
    "status": {"prometheus_file": "/var/lib/node/mdfleet.prom", "key_names": "mdfleet"},
}


def parse(doc: dict):
    return parse_host_config(doc, PATH)


def changed(path: tuple, value) -> dict:
    doc = copy.deepcopy(BASE)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def test_the_base_config_is_valid():
    cfg = parse(BASE)
    assert [md.name for md in cfg.domains] == ["shop", "_.example.net"] and cfg.notes == []
    assert cfg.stapling.keep_seconds == 7 * 86400 and cfg.lock_wait == 600.0


def test_staples_have_exchanges_in_flight_of_their_own():
    # one poll() loop carries the plain-http exchanges: their number is not the host's order workers
    assert (parse(BASE).workers, parse(BASE).stapling.workers) == (4, 16)
    assert parse(changed(("stapling", "workers"), 3)).stapling.workers == 3


# What users met (issue 10 item 6): each is refused, naming the file and the key.
CORPUS = [
    (("defaults", "agree_tos"), "no", "defaults.agree_tos: must be true or false, not 'no'"),
    (("defaults", "ari"), "false", "defaults.ari: must be true or false, not 'false'"),
    (("domains", 0, "ari"), "false", "domains[0] (shop): ari: must be true or false, not 'false'"),
    (("stapling", "enabled"), "false", "stapling.enabled: must be true or false, not 'false'"),
    (("stapling", "haproxy_ocsp_files"), 1, "stapling.haproxy_ocsp_files: must be true or false, not 1"),
    (("domains", 0, "order_timeout"), float("nan"), "domains[0] (shop): order_timeout: must be seconds"),
    (("workers",), float("inf"), "workers: must be an integer, not inf"),
    (("workers",), 0, "workers: must be between 1 and 64, not 0"),
    (("workers",), "4", "workers: must be an integer, not '4'"),
    (("stapling", "workers"), 0, "stapling.workers: must be between 1 and 64, not 0"),
    (("stapling", "workers"), "16", "stapling.workers: must be an integer, not '16'"),
    (("lock_wait",), float("-inf"), "lock_wait: must be seconds"),
    (("store",), "", "store: must not be empty (leave the key out for the default, '/var/lib/mdfleet')"),
    (("store",), ["/var/lib/mdfleet"], "store: must be a string, not ['/var/lib/mdfleet']"),
    (("store",), "var/lib/mdfleet", "store: must be an absolute path, not 'var/lib/mdfleet'"),
    (("challenges_dir",), 5, "challenges_dir: must be a string, not 5"),
    (("challenges_dir",), "", "challenges_dir: must not be empty"),
    (("status", "prometheus_file"), 5, "status.prometheus_file: must be a string, not 5"),
    (("stapling", "proxy"), 3128, "stapling.proxy: must be a string, not 3128"),
    (("stapling", "proxy"), "proxy.test:3128", "stapling.proxy: 'proxy.test:3128' must be an http:// or https:// URL"),
    (("defaults", "proxy"), 5, "defaults.proxy: must be a string, not 5"),
    (("domains", 1, "dns_command"), "/usr/local/bin/hook",
     "domains[1] (*.example.net): dns_command: must be a list of arguments (never a shell string)"),
    (("message_cmd",), "/usr/local/bin/md-event", "message_cmd: must be a list of arguments"),
    (("reload", "test_command"), ["/usr/sbin/nginx", ""], "reload.test_command[1]: must be a non-empty string"),
    (("defaults", "acme_directory"), "http://ca.example/dir",
     "defaults.acme_directory: 'http://ca.example/dir' must be an https:// URL (http:// only for a CA on a loopback"),
    (("domains", 1, "cas", 0, "url"), "ftp://ca2.test/dir",
     "domains[1] (*.example.net): cas[0].url: 'ftp://ca2.test/dir' is not an ACME directory URL"),
    (("domains",), 5, "domains: must be a list of managed domains, not 5"),
    (("domains",), {"shop": {}}, "domains: must be a list of managed domains"),
    (("domains", 0), "shop.example.org", "domains[0]: must be an object, not 'shop.example.org'"),
    (("domains", 0, "key_types"), [5], "domains[0] (shop): key_types[0]: must be a non-empty string, not 5"),
    (("domains", 0, "key_types"), "p256", "domains[0] (shop): key_types: must be a list, not 'p256'"),
    (("domains", 0, "name"), 5, "domains[0] (shop.example.org): name: must be a string, not 5"),
    (("domains", 0, "domains"), 5, "domains[0] (shop): domains: must be a list, not 5"),
    (("domains", 0, "domains"), [5], "domains[0] (shop): domains[0]: must be a non-empty string, not 5"),
    (("domains", 0, "renew_window"), True, "domains[0] (shop): renew_window: must be a percentage"),
    (("domains", 0, "renew_window"), "33", None),  # accepted: days, deprecated (see below)
    (("domains", 0, "standalone_port"), 80.5, "domains[0] (shop): standalone_port: must be an integer, not 80.5"),
    (("domains", 0, "profile"), 7, "domains[0] (shop): profile: must be a string, not 7"),
    (("domains", 0, "contact"), "hostmaster@example.org", "domains[0] (shop): contact: must be a list"),
    (("defaults", "rfc2136"), "192.0.2.53", "defaults.rfc2136: must be an object"),
    (("stapling",), [], "stapling: must be an object"),
    (("stapling", "others"), {"cert": "/x.pem"}, "stapling.others: must be a list"),
    (("stapling", "others", 0, "cert"), "", "stapling.others[0].cert: must not be empty"),
    (("stapling", "keep"), "7 days", "stapling.keep: must be seconds (a number) or a duration"),
    (("stapling", "window"), "0%", "stapling.window: '0%' must be between 0% and 100%"),
    (("status", "key_names"), "apache", "status.key_names: must be one of mdfleet, mod_md, not 'apache'"),
    (("reload",), {"reload_command": ["/bin/true"]}, "reload: a reload_command needs the server's test_command"),
    (("accounts",), [{"url": CA, "agree_tos": "yes"}], "accounts[0].agree_tos: must be true or false, not 'yes'"),
    (("host",), "", "host: must not be empty"),
    (("nonsense",), 1, "top level: unknown key nonsense"),
]


@pytest.mark.parametrize("path, value, says", CORPUS, ids=[".".join(map(str, c[0])) + "=" + repr(c[1]) for c in CORPUS])
def test_broken_values_are_refused_naming_file_and_key(path, value, says):
    doc = changed(path, value)
    if says is None:
        parse(doc)
        return
    with pytest.raises(ConfigError) as info:
        parse(doc)
    assert str(info.value).startswith(PATH + ": ") and says in str(info.value), str(info.value)


def test_nan_and_infinity_from_the_file_itself(tmp_path):
    """Python's json reads NaN and Infinity; the check names the key that holds one."""
    path = tmp_path / "config.json"
    text = json.dumps(BASE).replace('"workers": 4', '"workers": Infinity')
    text = text.replace('"order_timeout": 300', '"order_timeout": NaN')
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"config.json: workers: must be an integer, not inf"):
        load_host_config(str(path))
    path.write_text(text.replace('"workers": Infinity', '"workers": 4'))
    with pytest.raises(ConfigError, match=r"config.json: domains\[0\] \(shop\): order_timeout: must be seconds"):
        load_host_config(str(path))


def test_old_spellings_are_accepted_with_a_note():
    doc = changed(("domains", 0, "renew_window"), 30)
    doc["stapling"] = {"keep_days": 2, "window": "2"}
    cfg = parse(doc)
    assert cfg.domains[0].renew_window == "30" and cfg.stapling.keep_seconds == 2 * 86400
    notes = "\n".join(cfg.notes)
    assert "domains[0] (shop): renew_window: a bare number (30) in a window means days; this is deprecated, " \
           "write '30d'" in notes
    assert "stapling.window: a bare number (2)" in notes and 'stapling.keep_days is deprecated: write "keep": "2d"' \
        in notes
    doc["stapling"]["keep"] = "1d"
    with pytest.raises(ConfigError, match="give keep or keep_days"):
        parse(doc)


def test_durations_take_units_everywhere():
    doc = changed(("lock_wait",), "10m")
    doc["run_timeout"] = "28m"
    doc["domains"][0]["order_timeout"] = "1h"
    doc["stapling"]["timeout"] = "2.5s"
    cfg = parse(doc)
    assert (cfg.lock_wait, cfg.run_timeout, cfg.domains[0].order_timeout, cfg.stapling.timeout) == \
        (600.0, 1680.0, 3600.0, 2.5)


def test_mod_md_names_and_loopback_http():
    doc = changed(("domains", 0, "key_types"), ["secp384r1", "RSA"])
    doc["domains"][0]["acme_directory"] = "http://127.0.0.1:14000/dir"
    md = parse(doc).domains[0]
    assert md.key_types == ["p384", "rsa2048"] and md.cas[0].url == "http://127.0.0.1:14000/dir"


def test_empty_strings_mean_unset_only_where_documented():
    doc = changed(("stapling", "proxy"), "")
    doc["status"]["prometheus_file"] = ""
    doc["domains"][0]["profile"] = ""
    cfg = parse(doc)
    assert (cfg.stapling.proxy, cfg.prometheus_file, cfg.domains[0].profile) == (None, None, None)


# --- property-based: no input ends in anything but a ConfigError naming the file and a key ---------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8)
# 'config.json: <where>: ...' with <where> a key path (top level, stapling.window, domains[1] (shop), ...)
NAMED = re.compile(r"^%s: (top level|[a-z_]+(\[\d+\])?( \(.*?\))?)(: |\.|\[)" % re.escape(PATH))


def paths(doc, prefix=()):
    """Every place of the base config a value can be put: its keys, list items and new keys."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield prefix + (key,)
            yield from paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield prefix + (index,)
            yield from paths(value, prefix + (index,))


PLACES = sorted(set(paths(BASE)), key=repr)
SETTINGS = settings(max_examples=400, deadline=None, derandomize=True, database=None)


def assert_named(doc) -> None:
    try:
        parse(doc)
    except ConfigError as exc:
        assert NAMED.match(str(exc)), str(exc)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PLACES), JSON), min_size=1, max_size=3))
def test_random_values_anywhere_give_a_named_error_or_a_config(changes):
    doc = copy.deepcopy(BASE)
    for path, value in changes:
        target = doc
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent
    assert_named(doc)


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(BASE) + ["other"]), JSON, max_size=6))
def test_random_documents_give_a_named_error_or_a_config(doc):
    assert_named(doc)


@SETTINGS
@given(st.sampled_from([o.name for o in ACME_MD_ORDER]), JSON)
def test_random_module_parameters_give_an_error_naming_the_parameter(name, value):
    """acme_md_order's parameters after Ansible's own conversion may still hold NaN, a string for a raw
    duration, an empty string: the engine's check names the parameter (item 7: order_timeout 'nan')."""
    params = {o.name: None for o in ACME_MD_ORDER}
    params.update(domains=["www.example.org"], acme_directory=CA, store="/var/lib/mdfleet", force=False,
                  account_key_rollover=False)
    params[name] = value
    try:
        md_config_from_dict(params, options=ACME_MD_ORDER)
    except ConfigError as exc:
        text = str(exc)
        assert text.startswith(name) or "managed domain" in text or "EAB" in text or "name" in text, text


def test_a_missing_ca_bundle_is_named_as_such(clock):
    """Not 'cannot write the store' (requests' OSError): the domain's bad input, naming the file."""
    from mdcore.config import CaConfig
    from mdcore.issuance import transport_for

    md = md_config_from_dict({"domains": ["www.example.org"], "acme_directory": CA, "ca_bundle": "/nonexistent.pem"})
    with pytest.raises(ConfigError, match=r"ca_bundle /nonexistent.pem \(for https://ca.test/dir\) does not exist"):
        transport_for(CaConfig(CA, ca_bundle="/nonexistent.pem"), md, clock)


def test_check_config_prints_deprecations_and_names_errors(tmp_path):
    import io

    from mdcore.cli import EXIT_CONFIG, EXIT_OK, main

    path = tmp_path / "config.json"
    path.write_text(json.dumps(changed(("domains", 0, "renew_window"), "30")))
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(path), "check-config"], out=out, err=err) == EXIT_OK
    assert "OK, 2 managed domain(s)" in out.getvalue()
    assert "mdfleet: warning: %s: domains[0] (shop): renew_window: a bare number (30)" % path in err.getvalue()
    path.write_text(json.dumps(changed(("stapling", "enabled"), "false")))
    err = io.StringIO()
    assert main(["--config", str(path), "check-config"], out=io.StringIO(), err=err) == EXIT_CONFIG
    assert err.getvalue() == ("mdfleet: configuration error: %s: stapling.enabled: must be true or false, not "
                              "'false'\n" % path)


def test_domains_that_share_the_defaults_get_values_of_their_own():
    """The defaults' values are checked once for all domains (check_options' memo): each domain
    still gets its own lists, equal to what a domain parsed alone gets."""
    doc = copy.deepcopy(BASE)
    doc["defaults"]["dns_persist_resolvers"] = ["127.0.0.1:53"]
    doc["domains"] = [{"name": "d%d" % i, "domains": ["d%d.example.org" % i]} for i in range(3)]
    cfg = parse_host_config(doc, PATH)
    alone = parse_host_config(dict(doc, domains=doc["domains"][:1]), PATH).domains[0]
    first, second = cfg.domains[0], cfg.domains[1]
    assert first.contact == second.contact == alone.contact == ["mailto:hostmaster@example.org"]
    assert first.contact is not second.contact and first.cas[0] is not second.cas[0]
    first.challenge.dns_persist_resolvers.append("127.0.0.2:53")
    assert second.challenge.dns_persist_resolvers == ["127.0.0.1:53"]
    assert [(md.name, md.domains) for md in cfg.domains] == [("d%d" % i, ["d%d.example.org" % i]) for i in range(3)]
