"""dns-01 by RFC 2136 against real BIND and Knot, validated by a pebble that resolves through the
server: wildcard + apex issuance with TSIG, wrong and unknown keys, a zone the key may not
change, CNAME delegation, an unreachable server, and the zone read back by AXFR (dig/kdig) at
the end of every test: nothing of ours is left, after success and after failure."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mdcore.acme.problems import AcmeProblemError
from mdcore.config import md_config_from_dict
from mdcore.dnsclient.exchange import DnsRefusedError
from mdcore.errors import ChallengeError, NetworkError
from mdcore.manager import ensure_md
from mdcore.store import Store
from peers.authdns import DnsKey
from peers.dnslab import ACME_KEY, DELEGATED_KEY, DnsLab, DnsSite
from peers.ports import free_port

from ..acme.helpers import base_doc, verify_chain


def _cfg(site: DnsSite, names: list[str], **rfc2136):
    return md_config_from_dict(base_doc(site.pebble, domains=names, challenge="dns-01", dns_provider="rfc2136",
                                        rfc2136=site.rfc2136(**rfc2136), order_timeout=60))


def _nothing_left(site: DnsSite, *zones: str) -> None:
    for zone in zones or (site.zone,):
        assert site.server.acme_txt_records(zone) == [], "TXT records left in %s" % zone


def test_wildcard_and_apex_through_tsig_update(dns_site: DnsSite, tmp_path: Path) -> None:
    base = "wild.%s" % dns_site.zone
    store = Store(str(tmp_path / "store"))
    started = time.monotonic()
    result = ensure_md(store, _cfg(dns_site, ["*." + base, base]))
    took = time.monotonic() - started
    cert = result.certificates["p256"]
    assert sorted(cert["names"]) == ["*." + base, base]
    verify_chain(dns_site.pebble, tmp_path, cert["cert_path"], cert["chain_path"])
    _nothing_left(dns_site)
    print("rfc2136 %s: order to issued certificate (wildcard + apex, propagation check) %.2f s" % (dns_site.kind, took))


def test_key_file_and_configured_zone(dns_site: DnsSite, tmp_path: Path) -> None:
    key_file = tmp_path / "acme.key"
    key_file.write_text(dns_site.key.bind_file() if dns_site.kind == "bind" else dns_site.key.knot_file())
    key_file.chmod(0o600)
    name = "file.%s" % dns_site.zone
    settings = {"key_name": None, "key_algorithm": None, "key_secret": None, "key_file": str(key_file),
                "zone": dns_site.zone}
    result = ensure_md(Store(str(tmp_path / "store")), _cfg(dns_site, [name], **settings))
    assert result.certificates["p256"]["names"] == [name]
    _nothing_left(dns_site)


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        ("wrong-secret", r"rejected TSIG key %s for the update of zone %s. \(NOTAUTH, BADSIG\): the secret of key "
                         r"%s differs from the server's"),
        ("unknown-name", r"rejected TSIG key nobody for the update of zone %s. \(NOTAUTH, BADKEY\): the server has "
                         r"no key nobody with algorithm"),
    ],
)
def test_a_wrong_key_is_refused_clearly_and_leaves_nothing(
        dns_site: DnsSite, tmp_path: Path, key: str, answer: str) -> None:
    bad = dns_site.key.wrong_secret() if key == "wrong-secret" else DnsKey("nobody", dns_site.key.algorithm)
    store = Store(str(tmp_path / "store"))
    expected = answer % ((bad.name, dns_site.zone, bad.name) if key == "wrong-secret" else (dns_site.zone,))
    with pytest.raises(DnsRefusedError, match=expected) as info:
        ensure_md(store, _cfg(dns_site, ["badkey.%s" % dns_site.zone], **bad.settings()))
    assert bad.secret not in str(info.value) and dns_site.key.secret not in str(info.value)
    assert store.active_set("badkey.%s" % dns_site.zone) is None
    _nothing_left(dns_site)


# BIND refuses what update-policy does not grant; Knot answers NOTAUTH/BADKEY when no acl lets the key in.
LOCKED = {
    "bind": r"DNS server %s answered the update of zone %s. with REFUSED: the server's policy does not let key "
            r"acme-update change _acme-challenge.www.%s. in that zone \(BIND: update-policy",
    "knot": r"DNS server %s rejected TSIG key acme-update-512 for the update of zone %s. \(NOTAUTH, BADKEY\): .*or "
            r"does not let it change that zone \(Knot answers so when no acl with action update names the key\)",
}


def test_a_zone_the_key_may_not_change(dns_site: DnsSite, tmp_path: Path) -> None:
    zone = "locked.%s" % dns_site.zone
    expected = LOCKED[dns_site.kind] % ((dns_site.server.server, zone, zone) if dns_site.kind == "bind"
                                        else (dns_site.server.server, zone))
    with pytest.raises(DnsRefusedError, match=expected):
        ensure_md(Store(str(tmp_path / "store")), _cfg(dns_site, ["www.%s" % zone]))
    _nothing_left(dns_site, zone)


def test_records_are_removed_after_a_failed_validation(dns_site: DnsSite, pebble_factory, tmp_path: Path) -> None:
    # This pebble resolves through challtestsrv, which never sees the record: validation fails
    # after the update went in and the propagation check passed.
    blind = pebble_factory()
    doc = base_doc(blind, domains=["fail.%s" % dns_site.zone], challenge="dns-01", dns_provider="rfc2136",
                   rfc2136=dns_site.rfc2136(), order_timeout=60)
    store = Store(str(tmp_path / "store"))
    with pytest.raises(AcmeProblemError, match="validation of fail.%s" % dns_site.zone):
        ensure_md(store, md_config_from_dict(doc))
    _nothing_left(dns_site)
    assert store.active_set("fail.%s" % dns_site.zone) is None


def test_unreachable_server(dns_site: DnsSite, tmp_path: Path) -> None:
    closed = "127.0.0.1:%d" % free_port(udp_too=True)  # nothing listens there
    with pytest.raises(NetworkError, match=r"DNS server %s did not answer the query for _acme-challenge.gone.%s. "
                                           r"CNAME within 1 s" % (closed, dns_site.zone)):
        ensure_md(Store(str(tmp_path / "store")), _cfg(dns_site, ["gone.%s" % dns_site.zone], server=closed,
                                                       timeout=1))


def test_cname_delegation_into_the_validation_zone(lab: DnsLab, tmp_path: Path) -> None:
    # bind.test (BIND) delegates _acme-challenge.cname.bind.test to cname.validation.test (Knot);
    # the key may change validation.test only, and pebble resolves as a CA does, recursively.
    where = lab.site_for(lab.knot, "validation.test", DELEGATED_KEY, lab.resolver)
    before = lab.bind.zone_records("bind.test")
    names = ["*.cname.bind.test", "cname.bind.test"]
    result = ensure_md(Store(str(tmp_path / "store")), _cfg(where, names, resolvers=[lab.resolver.server]))
    assert sorted(result.certificates["p256"]["names"]) == names
    _nothing_left(where, "validation.test")
    assert lab.bind.zone_records("bind.test") == before  # the main zone never changed


def test_propagation_check_waits_for_a_lagging_secondary(lab: DnsLab, tmp_path: Path) -> None:
    # slow.test: BIND primary, Knot secondary polling every 2 s; pebble asks the secondary only.
    where = lab.site_for(lab.bind, "slow.test", ACME_KEY, lab.secondary)
    started = time.monotonic()
    result = ensure_md(Store(str(tmp_path / "store")), _cfg(where, ["*.slow.test", "slow.test"]))
    took = time.monotonic() - started
    assert sorted(result.certificates["p256"]["names"]) == ["*.slow.test", "slow.test"]
    _nothing_left(where, "slow.test")
    print("rfc2136 bind + knot secondary (SOA refresh 2 s): order to issued certificate %.2f s" % took)


def test_a_secondary_that_never_catches_up(lab: DnsLab, tmp_path: Path) -> None:
    # stale.test: the secondary polls hourly. With the check the order stops before the CA is
    # asked; without it the CA (resolving through the secondary) finds nothing. Either way the
    # records go again.
    where = lab.site_for(lab.bind, "stale.test", ACME_KEY, lab.secondary)
    with pytest.raises(ChallengeError, match=r"after \d+ s, not every name server of zone stale.test. serves the "
                                             r"dns-01 record _acme-challenge.stale.test.: ns2.stale.test. "
                                             r"\(127.0.0.2:\d+\) lacks 1 of 1 values"):
        ensure_md(Store(str(tmp_path / "a")), _cfg(where, ["stale.test"], propagation_timeout=3))
    _nothing_left(where, "stale.test")
    with pytest.raises(AcmeProblemError, match=r"validation of stale.test: unauthorized: .*TXT records"):
        ensure_md(Store(str(tmp_path / "b")), _cfg(where, ["stale.test"], propagation_check=False))
    _nothing_left(where, "stale.test")
