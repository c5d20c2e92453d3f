"""The store: modes, staging -> atomic activation, crash recovery, lock, pruning, names."""

from __future__ import annotations

import os
import stat

import pytest

from mdcore.clock import FakeClock
from mdcore.errors import StoreError, StoreLockedError
from mdcore.fsutil import atomic_write, write_json
from mdcore.state.certset import CertSet
from mdcore.state.fields import CorruptStateError
from mdcore.state.order import OrderState
from mdcore.store import SET_FILE, Store, check_md_name

from .helpers import cert_set

FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem")


def _mode(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def stage(store: Store, md: str, tag: str, key_types: tuple[str, ...] = ("p256",)) -> CertSet:
    """A complete staging set whose files (and names) say which set they belong to."""
    folder = store.begin_staging(OrderState(md, [tag], list(key_types), "https://ca.test/dir"))
    for kt in key_types:
        os.makedirs(os.path.join(folder, kt), exist_ok=True)
        for name in FILES:
            atomic_write(os.path.join(folder, kt, name), ("%s %s %s" % (tag, kt, name)).encode())
    return cert_set(md, key_types, names=[tag])


def active_tag(store: Store, md: str) -> str:
    info = store.active_set(md)
    assert info is not None
    (tag,) = info.names
    for kt in info.key_types:
        for name in FILES:
            with open(os.path.join(store.active_dir(md), kt, name)) as handle:
                assert handle.read() == "%s %s %s" % (tag, kt, name)  # complete, never mixed
    return tag


def test_setup_modes(tmp_path, clock: FakeClock) -> None:
    root = tmp_path / "store"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    store = Store(str(root), clock).setup()
    assert _mode(store.root) == 0o700
    for sub in ("accounts", "archive", "domains", "staging", "jobs", "ocsp", "status"):
        assert _mode(store.path(sub)) == 0o700
    assert _mode(store.challenges_dir) == 0o755


def test_unusable_store(tmp_path, clock: FakeClock) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="is not usable"):
        Store(str(tmp_path / "file" / "store"), clock).setup()


def test_activate_links_domains_to_archive(store: Store) -> None:
    info = stage(store, "example.org", "one", ("p256", "rsa2048"))
    sealed = store.activate("example.org", info)
    assert sealed.set_id and set(sealed.certs["p256"].files) == set(FILES)
    target = store.path("archive", "example.org.1")
    assert os.readlink(store.active_dir("example.org")) == os.path.join("..", "archive", "example.org.1")
    assert active_tag(store, "example.org") == "one"
    assert not os.path.exists(store.staging_dir("example.org"))
    assert not os.path.exists(os.path.join(target, "order.json"))
    assert _mode(os.path.join(target, "p256", "privkey.pem")) == 0o600
    assert [c.key_type for c in store.active_certs("example.org")] == ["p256", "rsa2048"]
    assert store.managed_names() == ["example.org"]

    store.activate("example.org", stage(store, "example.org", "two"))
    assert os.readlink(store.active_dir("example.org")).endswith("example.org.2")
    assert active_tag(store, "example.org") == "two"
    assert os.path.isdir(store.path("archive", "example.org.1"))


def test_incomplete_staging_is_not_activated(store: Store) -> None:
    info = stage(store, "example.org", "one")
    os.unlink(os.path.join(store.staging_dir("example.org"), "p256", "chain.pem"))
    with pytest.raises(StoreError, match="incomplete.*chain.pem"):
        store.activate("example.org", info)
    assert store.active_set("example.org") is None
    assert os.listdir(store.path("archive")) == []


def test_recover_activates_sealed_staging(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "old"))
    info = stage(store, "example.org", "new")
    # crash right after sealing: set.json written, rename not done
    write_json(os.path.join(store.staging_dir("example.org"), SET_FILE), info.to_json())
    assert active_tag(store, "example.org") == "old"
    actions = store.recover()
    assert actions and "sealed staging" in actions[0]
    assert active_tag(store, "example.org") == "new"
    assert not os.path.exists(store.staging_dir("example.org"))


def test_recover_points_link_to_newer_archive(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "old"))
    store.activate("example.org", stage(store, "example.org", "new"))
    # crash between the rename into the archive and the link swap (+ a leftover temp link)
    os.unlink(store.active_dir("example.org"))
    os.symlink(os.path.join("..", "archive", "example.org.1"), store.active_dir("example.org"))
    os.symlink("whatever", store.path("domains", ".example.org.tmp"))
    assert active_tag(store, "example.org") == "old"
    assert store.recover() == ["activated archived set example.org.2"]
    assert active_tag(store, "example.org") == "new"
    assert os.listdir(store.path("domains")) == ["example.org"]
    assert store.recover() == []


def test_recover_first_activation_without_link(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "first"))
    os.unlink(store.active_dir("example.org"))
    store.recover()
    assert active_tag(store, "example.org") == "first"


def test_recover_ignores_incomplete_archive(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "old"))
    os.makedirs(store.path("archive", "example.org.2", "p256"))  # no set.json: never complete
    store.recover()
    assert active_tag(store, "example.org") == "old"


def test_unsealed_staging_is_kept_for_resume(store: Store) -> None:
    stage(store, "example.org", "partial")
    assert store.recover() == []
    assert store.pending_order("example.org") == OrderState("example.org", ["partial"], ["p256"],
                                                            "https://ca.test/dir")
    assert store.active_set("example.org") is None


def test_lock_times_out_without_real_sleep(store: Store, clock: FakeClock) -> None:
    with store.lock(1):
        start = clock.monotonic()
        with pytest.raises(StoreLockedError, match="locked by another mdfleet run"):
            with store.lock(wait_seconds=2):
                pass  # pragma: no cover
        assert clock.monotonic() - start >= 2
        assert clock.slept and max(clock.slept) <= 0.2
    with store.lock(0):  # released
        pass
    assert _mode(store.path("store.lock")) == 0o600


def test_prune_keeps_n(tmp_path, clock: FakeClock) -> None:
    store = Store(str(tmp_path / "s"), clock, keep_archive=2).setup()
    for n in range(4):
        store.activate("example.org", stage(store, "example.org", "set%d" % n))
    assert sorted(os.listdir(store.path("archive"))) == ["example.org.3", "example.org.4"]
    assert active_tag(store, "example.org") == "set3"


def test_prune_zero_keeps_only_the_active_set(tmp_path, clock: FakeClock) -> None:
    store = Store(str(tmp_path / "s"), clock, keep_archive=0).setup()
    for n in range(3):
        store.activate("example.org", stage(store, "example.org", "set%d" % n))
    assert os.listdir(store.path("archive")) == ["example.org.3"]


def test_prune_leaves_other_domains_alone(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "a"))
    store.activate("example.org.uk", stage(store, "example.org.uk", "b"))
    store.activate("example.org", stage(store, "example.org", "c"))
    assert active_tag(store, "example.org.uk") == "b"
    store.recover()
    assert active_tag(store, "example.org") == "c" and active_tag(store, "example.org.uk") == "b"


def test_removed_domain_stays_removed(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "a"))
    stage(store, "example.org", "partial")
    store.remove_md("example.org")
    store.recover()
    assert store.managed_names() == [] and store.active_set("example.org") is None
    assert store.pending_order("example.org") is None


@pytest.mark.parametrize(
    "name", ["", ".hidden", "../etc", "a/b", "a..b", "-x", "x" * 300, "a b", "a\nb", "example.org\n"]
)
def test_invalid_md_names(store: Store, name: str) -> None:
    with pytest.raises(StoreError, match="invalid managed domain name"):
        check_md_name(name)
    with pytest.raises(StoreError):
        store.staging_dir(name)


@pytest.mark.parametrize(
    "name", ["example.org", "www.example-1.org", "_.example.org", "xn--bcher-kva.example"]
)
def test_valid_md_names(name: str) -> None:
    assert check_md_name(name) == name


def test_concurrent_first_setups_never_fail(tmp_path, clock: FakeClock) -> None:
    """Concurrent first runs raced on one shared probe file before they took the lock."""
    import threading

    errors: list[Exception] = []

    def setup(n: int) -> None:
        try:
            Store(str(tmp_path / "store"), clock).setup()
        except StoreError as exc:  # pragma: no cover - what the test must never see
            errors.append(exc)

    threads = [threading.Thread(target=setup, args=(n,)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and not [n for n in os.listdir(tmp_path / "store") if n.startswith(".probe")]


def test_recover_removes_temp_files_of_killed_runs(store: Store) -> None:
    store.activate("example.org", stage(store, "example.org", "old"))
    info = stage(store, "example.org", "new")
    dead = ".tmp-999999999-1-1"  # no such process
    staged_key = os.path.join(store.staging_dir("example.org"), "p256", dead)
    with open(staged_key, "w") as handle:
        handle.write("-----BEGIN PRIVATE KEY-----\npartial")
    for folder in (store.path("jobs"), os.path.join(store.active_dir("example.org"), "p256")):
        with open(os.path.join(folder, dead), "w"):
            pass
    mine = os.path.join(store.path("jobs"), ".tmp-%d-1-1" % os.getpid())  # a live writer's: kept
    with open(mine, "w"):
        pass
    assert "removed 3 temp file(s) of killed runs" in store.recover()
    assert not os.path.exists(staged_key) and os.path.exists(mine)
    with open(os.path.join(store.staging_dir("example.org"), "p256", dead), "w"):
        pass  # left by this very process, before its own activation: never archived either
    store.activate("example.org", info)
    assert sorted(os.listdir(os.path.join(store.active_dir("example.org"), "p256"))) == sorted(FILES)


def test_a_full_disk_at_setup_is_a_note_not_the_end(store: Store, monkeypatch) -> None:
    import errno as errnos

    real_open = os.open

    def full(path, *args, **kwargs):
        if os.path.basename(path).startswith(".probe"):
            raise OSError(errnos.ENOSPC, "No space left on device", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", full)
    store.setup()
    assert store.notes == ["store %s: No space left on device: new certificates, staples and status cannot be "
                           "written" % store.root]


def test_recover_lists_the_archive_once(store: Store, monkeypatch) -> None:
    """recover() over many domains with several sets each: every domain gets its newest set, and
    archive/ is listed once (it was listed again for every archive entry: quadratic)."""
    names = ["d%02d.example" % i for i in range(12)] + ["a.b.example", "a.example"]  # dotted names share prefixes
    for md in names:
        store.activate(md, stage(store, md, "old"))
        store.activate(md, stage(store, md, "new"))
        os.unlink(store.active_dir(md))
        os.symlink(os.path.join("..", "archive", "%s.1" % md), store.active_dir(md))
    listed = []
    real = os.listdir

    def counting(path="."):
        listed.append(os.path.basename(os.fspath(path)))
        return real(path)

    monkeypatch.setattr(os, "listdir", counting)
    assert sorted(store.recover()) == sorted("activated archived set %s.2" % md for md in names)
    assert listed.count("archive") <= 2  # the temp file sweep and the index (was once per archive entry)
    monkeypatch.setattr(os, "listdir", real)
    assert all(active_tag(store, md) == "new" for md in names)


def test_after_a_clean_run_recover_walks_no_active_set(store: Store, monkeypatch) -> None:
    """The last locked run ended (store/.clean-exit): recover() does not list the active sets for
    temp files. A run killed while it held the lock leaves no marker, and the next run finds its
    temp files."""
    for md in ("a.example", "b.example"):
        store.activate(md, stage(store, md, "one"))
    with store.lock():
        store.recover()  # no marker yet (a new store, or one of an older mdfleet): the full walk
    assert os.path.exists(store.path(".clean-exit"))
    listed = []
    real_listdir, real_scandir = os.listdir, os.scandir
    monkeypatch.setattr(os, "listdir", lambda path=".": listed.append(os.fspath(path)) or real_listdir(path))
    monkeypatch.setattr(os, "scandir", lambda path=".": listed.append(os.fspath(path)) or real_scandir(path))
    with store.lock():
        assert not os.path.exists(store.path(".clean-exit"))  # a kill from here on leaves none
        assert store.recover() == []
    assert not [p for p in listed if "archive" + os.sep in p]  # no set folder listed
    monkeypatch.setattr(os, "listdir", real_listdir)
    monkeypatch.setattr(os, "scandir", real_scandir)
    killed = store.lock().__enter__()  # a run killed while it holds the lock never releases it
    dead = os.path.join(store.active_dir("a.example"), "p256", ".tmp-999999999-1-1")
    with open(dead, "w"):
        pass
    os.close(killed._fd)  # the kernel drops a dead process's flock
    again = Store(store.root, store.clock)
    with again.lock():
        assert again.recover() == ["removed 1 temp file(s) of killed runs"]
    assert not os.path.exists(dead)
    with open(dead, "w"):
        pass
    assert "removed 1 temp file(s) of killed runs" in again.recover()  # unlocked: always the full walk


def test_an_unchanged_set_is_read_once_and_a_changed_one_again(store: Store) -> None:
    """active_set() keeps what it read while the file behind domains/<md> is the same: a new
    activation, a removed domain set up again, or a set.json changed in place are read anew."""
    store.activate("example.org", stage(store, "example.org", "one"))
    first = store.active_set("example.org")
    assert store.active_set("example.org") is first
    store.activate("example.org", stage(store, "example.org", "two"))
    assert active_tag(store, "example.org") == "two" and store.active_set("example.org") is not first
    store.remove_md("example.org")
    assert store.active_set("example.org") is None
    store.activate("example.org", stage(store, "example.org", "three"))  # archive/example.org.1 again
    assert active_tag(store, "example.org") == "three"
    path = os.path.join(store.active_dir("example.org"), "set.json")
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(CorruptStateError):
        store.active_set("example.org")


def test_a_failed_write_names_the_file(tmp_path, monkeypatch) -> None:
    """os.write and fsync name no file: a full disk was "cannot write the store <root>" naming
    nothing the operator could look at. atomic_write's OSError names the target (not its temp)."""
    import errno

    from mdcore import fsutil

    def full(_fd, _data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "write", full)
    target = str(tmp_path / "order.json")
    with pytest.raises(OSError) as caught:
        fsutil.atomic_write(target, b"{}")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == target
    assert os.listdir(tmp_path) == []  # the temp file went with it


def test_a_full_disk_at_setup_is_a_note_when_the_store_exists(tmp_path, clock: FakeClock, monkeypatch) -> None:
    """No inode left for a missing folder (here the challenges folder) while the store exists: the
    run goes on (it reloads, reports, keeps the old sets) with a note, as for the probe's full disk."""
    import errno

    from mdcore import fsutil

    Store(str(tmp_path / "store"), clock).setup()
    real = fsutil._make_dir

    def no_inode(path, mode):
        if path.endswith("-challenges") or "fresh" in path:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real(path, mode)

    os.rmdir(str(tmp_path / "store-challenges"))
    monkeypatch.setattr(fsutil, "_make_dir", no_inode)
    store = Store(str(tmp_path / "store"), clock).setup()
    assert store.notes == ["store %s: No space left on device (%s-challenges): new certificates, staples and status "
                           "cannot be written" % (store.root, store.root)]
    with pytest.raises(StoreError, match="is not usable: No space left on device"):
        Store(str(tmp_path / "fresh"), clock).setup()  # a store that is not there yet cannot be used


def test_read_with_identity_gives_the_bytes_and_the_identity_of_the_file_read(tmp_path) -> None:
    from mdcore.fsutil import read_with_identity

    path = tmp_path / "set.json"
    path.write_bytes(b'{"md": "x"}' * 1000)
    identity, data = read_with_identity(str(path))
    st = os.stat(path)
    assert data == path.read_bytes() and identity == (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    assert read_with_identity(str(tmp_path / "missing.json")) is None
    with pytest.raises(IsADirectoryError):
        read_with_identity(str(tmp_path))


def test_events_fired_rewrites_the_pending_installs_together(tmp_path, monkeypatch):
    from mdcore import fsutil
    from mdcore.state.installs import PendingInstall, install_path

    store = Store(str(tmp_path / "s"), FakeClock()).setup()
    both = {"renewed": {"serials": ["01"]}, "installed": {}}
    for md in ("a.example", "b.example", "c.example"):
        store.save_install(PendingInstall(md, "set-" + md, store.clock.now(), dict(both)))
    with open(install_path(store.root, "d.example"), "w") as handle:
        handle.write("{not json")
    batches = []
    real = fsutil.atomic_write_many
    monkeypatch.setattr("mdcore.store.atomic_write_many", lambda folder, files: (batches.append(
        [name for name, _d, _m in files]), real(folder, files)))
    store.events_fired([("a.example", "set-a.example", "renewed"), ("b.example", "set-b.example", "renewed"),
                        ("c.example", "another set", "renewed"), ("d.example", "x", "renewed")])
    assert batches == [["a.example.json", "b.example.json"]]  # one write for both, the others unchanged
    pending = {entry.md: entry for entry in store.pending_installs()}
    assert set(pending["a.example"].events) == set(pending["b.example"].events) == {"installed"}
    assert set(pending["c.example"].events) == {"installed", "renewed"}  # not that set's activation
    assert "d.example" in pending and any("d.example" in note for note in store.notes)  # set aside, still loaded
    store.events_fired([])
    assert len(batches) == 1
