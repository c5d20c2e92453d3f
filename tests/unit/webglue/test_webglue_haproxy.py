"""haproxy: combined crt files (+ .ocsp when the book vouches for it), and the reload wait on the
runtime API, against a fake stats socket and a FakeClock (nothing really sleeps)."""

from __future__ import annotations

import os

from mdcore.webglue.active import active_sets
from mdcore.webglue.commands import reload_and_wait, sync_files
from mdcore.webglue.config import Server
from mdcore.webglue.haproxy import POLL_INTERVAL, served_serial, wait_served
from peers.ocsp_pki import install_md

from ..fakehaproxy import FakeHaproxy
from .conftest import MD, book_entry, glue


def crt(web, key_type="p256"):
    return web / "certs" / ("%s.%s.pem" % (MD, key_type))


def store_staple(store, data: bytes) -> None:
    with open(os.path.join(store.active_dir(MD), "p256", "fullchain.pem.ocsp"), "wb") as handle:
        handle.write(data)


def mode(path) -> str:
    return oct(os.stat(path).st_mode & 0o777)


def test_crt_files_with_the_staple_and_nothing_changed_the_second_time(store, web, clock, leaf):
    store_staple(store, book_entry(store, clock).der)
    cfg = glue(store, web, Server.HAPROXY)
    res = sync_files(cfg, clock)
    assert res.changed == [str(crt(web)), str(crt(web)) + ".ocsp"]
    assert crt(web).read_bytes() == open(leaf.fullchain_path, "rb").read() + open(leaf.key_path, "rb").read()
    assert crt(web).with_suffix(".pem.ocsp").read_bytes() == b"DER-1"
    assert mode(crt(web)) == mode(str(crt(web)) + ".ocsp") == "0o600"
    assert sync_files(cfg, clock).changed == []


def test_a_staple_the_book_does_not_vouch_for_is_removed(store, web, clock):
    store_staple(store, book_entry(store, clock).der)
    cfg = glue(store, web, Server.HAPROXY)
    sync_files(cfg, clock)
    store_staple(store, b"not what the book verified")
    assert sync_files(cfg, clock).changed == [str(crt(web)) + ".ocsp"]
    assert not os.path.exists(str(crt(web)) + ".ocsp") and crt(web).exists()


def test_a_wrong_mode_is_repaired(store, web, clock):
    cfg = glue(store, web, Server.HAPROXY)
    sync_files(cfg, clock)
    os.chmod(crt(web), 0o644)  # a private key readable by everyone
    assert sync_files(cfg, clock).changed == [str(crt(web))] and mode(crt(web)) == "0o600"


def test_files_of_domains_no_longer_in_the_store_go(store, web, clock):
    for name in ("gone.example.org.p256.pem", "gone.example.org.p256.pem.ocsp"):
        (web / "certs" / name).write_bytes(b"old")
    (web / "certs" / "README").write_text("not ours")
    res = sync_files(glue(store, web, Server.HAPROXY), clock)
    assert sorted(os.listdir(web / "certs")) == ["README", crt(web).name]
    assert str(web / "certs" / "gone.example.org.p256.pem") in res.changed


def test_apache_and_none_write_nothing(store, web, clock):
    for server in (Server.APACHE2, Server.NONE):
        assert sync_files(glue(store, web, server), clock).changed == []
    assert os.listdir(web / "certs") == [] and os.listdir(web / "stapling") == []


def test_served_serial_reads_show_ssl_cert():
    answer = "Filename: /etc/haproxy/mdfleet-certs/a.p256.pem\nStatus: Used\nSerial: 5A0000000000001001\n"
    assert served_serial(answer) == 0x5A0000000000001001
    assert served_serial("Serial: zz\n") is None and served_serial("Can't display the certificate\n") is None


def serial_answer(serial: int) -> bytes:
    return b"Filename: x\nSerial: %X\nnotBefore: ...\n" % serial


def test_the_wait_ends_when_the_new_worker_serves_the_new_serial(store, web, clock, tmp_path, leaf):
    polls = []

    def answer(line: bytes) -> bytes:
        polls.append(line)
        return serial_answer(leaf.cert.serial_number if len(polls) >= 3 else 1)

    with FakeHaproxy(str(tmp_path / "admin.sock"), answer) as fake:
        cfg = glue(store, web, Server.HAPROXY, haproxy_socket=fake.path)
        sync_files(cfg, clock)
        assert wait_served(cfg, active_sets(store), clock, 15.0) == []
    assert polls == [b"show ssl cert %s\n" % str(crt(web)).encode()] * 3
    assert clock.slept == [POLL_INTERVAL, POLL_INTERVAL]


def test_the_wait_gives_up_at_its_deadline_and_names_the_file(store, web, clock, tmp_path):
    with FakeHaproxy(str(tmp_path / "admin.sock"), serial_answer(1)) as fake:
        cfg = glue(store, web, Server.HAPROXY, haproxy_socket=fake.path)
        sync_files(cfg, clock)
        start = clock.monotonic()
        assert wait_served(cfg, active_sets(store), clock, 3.0) == [str(crt(web))]
    assert clock.monotonic() - start == 3.0 and max(clock.slept) <= POLL_INTERVAL


def test_a_socket_that_is_gone_is_asked_again_until_the_deadline(store, web, clock, tmp_path):
    cfg = glue(store, web, Server.HAPROXY, haproxy_socket=str(tmp_path / "no-such.sock"))
    sync_files(cfg, clock)
    assert wait_served(cfg, active_sets(store), clock, 1.0) == [str(crt(web))]
    assert len(clock.slept) == 5


def test_no_socket_no_wait(store, web, clock):
    cfg = glue(store, web, Server.HAPROXY)
    sync_files(cfg, clock)
    assert wait_served(cfg, active_sets(store), clock, 15.0) == [] and clock.slept == []


def test_reload_runs_the_command_then_waits(store, web, clock, tmp_path, leaf, pki):
    install_md(store, MD, leaf)
    with FakeHaproxy(str(tmp_path / "admin.sock"), serial_answer(leaf.cert.serial_number)) as fake:
        marker = tmp_path / "reloaded"
        cfg = glue(store, web, Server.HAPROXY, haproxy_socket=fake.path,
                   reload_command=["/usr/bin/touch", str(marker)])
        sync_files(cfg, clock)
        assert reload_and_wait(cfg, clock, 5.0) == (0, [])
        assert marker.exists() and fake.commands
        install_md(store, MD, pki.issue(MD, None))  # a new serial haproxy does not serve
        sync_files(cfg, clock)
        assert reload_and_wait(cfg, clock, 1.0) == (1, [str(crt(web))])


def test_a_failed_reload_is_not_waited_for(store, web, clock, tmp_path):
    with FakeHaproxy(str(tmp_path / "admin.sock"), serial_answer(1)) as fake:
        cfg = glue(store, web, Server.HAPROXY, haproxy_socket=fake.path, reload_command=["/bin/false"])
        assert reload_and_wait(cfg, clock, 5.0) == (1, []) and fake.commands == []
