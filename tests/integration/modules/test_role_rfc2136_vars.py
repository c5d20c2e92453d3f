"""The managed_domains role's internal variables for dns_provider rfc2136, evaluated by Ansible
from the role's own vars files (a deploy costs minutes; these are what it decides on): a TSIG
secret anywhere (defaults or a domain) makes the config task no_log, and a domain with
dns_provider rfc2136 (or inherited from the defaults) gets python3-dnspython installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ansible", reason="ansible-core is only in the venv")

ROLE = Path(__file__).resolve().parents[3] / "roles" / "managed_domains"
SETTINGS = {"server": "192.0.2.53", "key_name": "acme-update"}
CASES = {
    "nothing": ({}, [{"domains": ["a.example"]}], (False, False)),
    "key file in defaults": ({"dns_provider": "rfc2136", "rfc2136": dict(SETTINGS, key_file="/etc/k.key")},
                             [{"domains": ["*.a.example"], "challenge": "dns-01"}], (False, True)),
    "secret in defaults": ({"dns_provider": "rfc2136", "rfc2136": dict(SETTINGS, key_secret="c2VjcmV0")},
                           [{"domains": ["a.example"], "rfc2136": {"zone": "a.example"}}], (True, True)),
    "secret in a domain": ({}, [{"domains": ["a.example"], "dns_provider": "rfc2136",
                                 "rfc2136": dict(SETTINGS, key_secret="c2VjcmV0")}], (True, True)),
    "rfc2136 null": ({"rfc2136": None}, [{"domains": ["a.example"], "rfc2136": None}], (False, False)),
}


MSG = {"secrets": "{{ __managed_domains_has_secrets | bool }}",
       "dnspython": "{{ (__managed_domains_dns_persist or __managed_domains_rfc2136) | bool }}",
       "packages": "{{ __managed_domains_dns_packages }}"}


def _role_vars() -> dict:
    """The role's own definitions of what the test evaluates (the rest of vars/main.yml needs a
    whole play's inventory)."""
    main = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    debian = yaml.safe_load((ROLE / "vars" / "Debian.yml").read_text())
    wanted = ("__managed_domains_has_secrets", "__managed_domains_dns_persist", "__managed_domains_rfc2136")
    return {**{k: main[k] for k in wanted}, "__managed_domains_dns_packages": debian["__managed_domains_dns_packages"]}


def test_role_decides_no_log_and_packages(run_playbook) -> None:
    tasks = ""
    for case, (defaults, domains, _want) in CASES.items():
        variables = {**_role_vars(), "managed_domains_defaults": defaults, "managed_domains_domains": domains,
                     "__managed_domains_fleet": {"holder_accounts": [], "forward": {}, "imports": []}}
        task = {"name": case, "ansible.builtin.debug": {"msg": MSG}, "vars": variables}
        tasks += "    - %s\n" % json.dumps(task)  # JSON is YAML
    proc, res = run_playbook(tasks)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for case, (_defaults, _domains, (secrets, dnspython)) in CASES.items():
        msg = res[case]["msg"]
        assert (msg["secrets"], msg["dnspython"]) == (secrets, dnspython), case
        assert msg["packages"] == ["python3-dnspython"]
