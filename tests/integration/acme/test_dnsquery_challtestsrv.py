"""The engine's TXT lookups (dnsquery, dnspython) against challtestsrv's real DNS server: values,
missing names, a server that never answers, one that refuses the connection."""

from __future__ import annotations

import socket
import time

import pytest

from mdcore import dnsquery
from mdcore.dnsquery import DnsLookupError, parse_nameserver, txt_values
from peers.challtestsrv import ChallTestSrv
from peers.pebble import SID_CHALLTESTSRV
from peers.require import need


@pytest.fixture
def server(challtestsrv):
    return [parse_nameserver(challtestsrv.dns_address)]


def test_values_of_a_name_and_none_of_a_missing_one(challtestsrv, server):
    name = "_validation-persist.lookup.dnsquery.example"
    challtestsrv.set_txt(name, "authority.example; accounturi=https://ca.example/acct/1")
    challtestsrv.set_txt(name, "other.example; accounturi=https://ca.example/acct/2")
    try:
        assert sorted(txt_values(name, server, 5)) == ["authority.example; accounturi=https://ca.example/acct/1",
                                                       "other.example; accounturi=https://ca.example/acct/2"]
    finally:
        challtestsrv.clear_txt(name)
    assert txt_values(name, server, 5) == []
    assert txt_values("_validation-persist.never.dnsquery.example", server, 5) == []


def test_a_value_longer_than_one_character_string_is_joined(tmp_path):
    """sid's challtestsrv sends a 400-octet value as two character-strings (Debian 12's cannot)."""
    with ChallTestSrv(tmp_path, binary=need(SID_CHALLTESTSRV), dns_flag="-dnsserver") as srv:
        value = "authority.example; accounturi=https://ca.example/" + "a" * 400
        srv.set_txt("_validation-persist.long.example", value)
        assert txt_values("_validation-persist.long.example", [parse_nameserver(srv.dns_address)], 5) == [value]


def test_a_silent_server_times_out_within_the_deadline():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    silent.bind(("127.0.0.1", 0))
    try:
        where = [parse_nameserver("127.0.0.1:%d" % silent.getsockname()[1])]
        started = time.monotonic()
        with pytest.raises(DnsLookupError, match=r"timed out after 1s \(asked 127.0.0.1:%d\)" % where[0].port):
            txt_values("_validation-persist.silent.example", where, 1.0)
        assert time.monotonic() - started < 5
    finally:
        silent.close()


def test_a_closed_port_is_a_clear_lookup_error():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: the kernel refuses
    with pytest.raises(DnsLookupError, match="127.0.0.1:%d" % port):
        txt_values("_validation-persist.closed.example", [parse_nameserver("127.0.0.1:%d" % port)], 2.0)


def test_without_dnspython_lookups_say_what_is_missing(monkeypatch):
    monkeypatch.setattr(dnsquery, "HAVE_DNSPYTHON", False)
    assert not dnsquery.available()
    with pytest.raises(DnsLookupError, match=r"need dnspython \(Debian: python3-dnspython\)"):
        txt_values("x.example", [], 1)
