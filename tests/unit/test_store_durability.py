"""What a power cut may lose of a store (tests/unit/powercut.py follows the engine's os calls): a
set is sealed and activated only once all of its files and its pending install are durable; the
order marker is durable before the order is made, an account's folder before the account is
registered, retired sets before archive/ forgets them; a set's staged files, written without
fsyncs of their own, cost one flush at the seal."""

from __future__ import annotations

import json
import os

import pytest

from mdcore.manager import ensure_md
from mdcore.state.installs import install_path
from mdcore.store import Store

from .powercut import PowerCutModel

MD = "www.example.org"


class Killed(Exception):
    pass


def test_a_set_is_durable_before_it_is_archived_and_activated(run_md, make_cfg, store: Store,
                                                              monkeypatch) -> None:
    model = PowerCutModel(monkeypatch)
    seen: list[list[str]] = []

    def at_rename(src: str, dst: str) -> None:
        if src == store.staging_dir(MD):  # the set goes into the archive
            seen.append(model.lost_under(src) + model.lost(install_path(store.root, MD), store.root))

    model.before_rename.append(at_rename)
    result = run_md(make_cfg(key_types=["p256", "rsa2048"]))
    assert result.changed and result.valid, result
    assert seen == [[]]
    assert model.lost(store.active_dir(MD), store.root) == []  # the domains/ link and the archive entry
    assert model.lost_under(store.active_folder(MD)) == []


def test_a_renewal_is_as_durable_as_a_first_issue(run_md, make_cfg, store: Store, monkeypatch) -> None:
    run_md(make_cfg())
    model = PowerCutModel(monkeypatch)
    seen: list[list[str]] = []
    model.before_rename.append(lambda src, _dst: seen.append(model.lost_under(src))
                               if src == store.staging_dir(MD) else None)
    result = run_md(make_cfg(), force=True)
    assert result.changed, result
    assert seen == [[]]
    assert model.lost(store.active_dir(MD), store.root) == []


def test_the_order_marker_is_durable_before_the_order_is_made(run_md, make_cfg, store: Store, fake_ca,
                                                              monkeypatch) -> None:
    """A power cut right after newOrder must leave the marker that makes the next run look for
    the order instead of making another one (CAs limit new orders)."""
    model = PowerCutModel(monkeypatch)
    seen = []
    real = fake_ca._do_newOrder

    def new_order(*args):
        path = os.path.join(store.staging_dir(MD), "order.json")
        with open(path, "rb") as handle:
            doc = json.loads(handle.read())
        seen.append((sorted(doc.get("ordering", {})), model.lost(path, store.root)))
        return real(*args)

    monkeypatch.setattr(fake_ca, "_do_newOrder", new_order)
    run_md(make_cfg())
    assert seen == [(["p256"], [])]


# Not durable by design: the lock, the clean-exit marker (lost, the next run looks for temp files
# again) and verified.json (lost, the next run hashes the sets again): see store.py.
NOT_DURABLE = ("store.lock", ".clean-exit", "verified.json")


def test_nothing_a_later_run_needs_is_lost_after_a_first_issue(make_cfg, fake_ca, net, tmp_path, clock,
                                                               monkeypatch) -> None:
    """The whole store, set up under the model: accounts, the set, the archive, the job."""
    model = PowerCutModel(monkeypatch)
    fresh = Store(str(tmp_path / "fresh" / "store"), clock)
    fake_ca.webroot = fresh.challenges_dir
    result = ensure_md(fresh.setup(), make_cfg(), clock, lock_wait=1, transport_factory=net.transport)
    assert result.changed and result.valid, result
    lost = [what for what in model.lost_under(fresh.root)
            if not any(what.endswith(os.sep + name) or ("name %s in" % name) in what for name in NOT_DURABLE)]
    assert lost == []
    assert model.lost(fresh.root, os.path.dirname(fresh.root)) == []  # its own name, made by setup()


def test_the_account_folder_is_durable_before_the_account_is_registered(run_md, make_cfg, store: Store, fake_ca,
                                                                        monkeypatch) -> None:
    """The key is saved before newAccount so that a run after a crash finds the same account
    (with EAB, the credentials may bind only once): its folder's name must survive too."""
    model = PowerCutModel(monkeypatch)
    seen = []
    real = fake_ca._do_newAccount

    def new_account(*args):
        folder = store.path("accounts")
        keys = [os.path.join(root, name) for root, _dirs, names in os.walk(folder) for name in names
                if name == "account.key.pem"]
        seen.append([model.lost(key, store.root) for key in keys])
        return real(*args)

    monkeypatch.setattr(fake_ca, "_do_newAccount", new_account)
    run_md(make_cfg())
    assert seen == [[[]]]


def test_an_order_flushes_its_staged_files_at_once(run_md, make_cfg, store: Store, monkeypatch) -> None:
    """The fsyncs of a renewal of one key type, 19: the run's clean-exit marker (1); the order
    marker (a pair) and the name of the new staging folder (1); the order URL (a pair); one
    flush of key, certificates and pending install (5 files, then their 2 folders); set.json
    (a pair), the archive and domains/ (1 each); the job (a pair). Before, every staged file
    had a pair of its own (the certificates three and one of their folder), and the http-01
    token and the first order.json too: 23, with the staging folder's name never durable."""
    run_md(make_cfg())
    model = PowerCutModel(monkeypatch)
    result = run_md(make_cfg(), force=True)
    assert result.changed, result
    assert len(model.fsyncs) == 19, "\n".join(model.fsyncs)


def test_a_staged_chain_lost_in_a_power_cut_is_downloaded_again(run_md, make_cfg, store: Store, fake_ca,
                                                                monkeypatch, test_ca) -> None:
    """The run dies after the download, before the seal, and the power cut empties chain.pem
    (its fullchain.pem survived): the next run must not seal a set without its chain; the three
    are set aside and the remembered order's certificate is downloaded again."""
    first = run_md(make_cfg())
    with monkeypatch.context() as patch:
        def killed(*_args, **_kwargs):
            raise Killed()

        patch.setattr(Store, "activate", killed)
        with pytest.raises(Killed):
            run_md(make_cfg(), force=True)
    staged = os.path.join(store.staging_dir(MD), "p256")
    with open(os.path.join(staged, "chain.pem"), "wb"):
        pass
    orders = fake_ca.count("newOrder")
    result = run_md(make_cfg())
    assert result.changed and result.valid and result.error is None, result
    assert fake_ca.count("newOrder") == orders  # the remembered order, not a new one
    assert any("chain.pem is corrupt: staged, but its cert.pem and chain.pem are not its fullchain.pem" in n
               for n in store.notes), store.notes
    active = os.path.join(store.active_folder(MD), "p256")
    with open(os.path.join(active, "chain.pem"), "rb") as handle:
        assert handle.read() != b""
    assert result.certificates["p256"]["serial"] != first.certificates["p256"]["serial"]


def test_retired_sets_and_their_job_survive_a_power_cut(run_md, make_cfg, store: Store, clock, monkeypatch) -> None:
    """Retirement moves a domain's sets (keys kept for a later purge) out of archive/: their new
    names and the folders holding them were never fsynced, while archive/ was (the keys could
    vanish with a power cut)."""
    from mdcore.retire import retire_unconfigured

    run_md(make_cfg(["keep.example.org"]))
    run_md(make_cfg(["gone.example.org"]))
    model = PowerCutModel(monkeypatch)
    assert [d["md"] for d in retire_unconfigured(store, {"keep.example.org"}, clock)] == ["gone.example.org"]
    (_md, _when, folder), = store.retired()
    assert os.path.isfile(os.path.join(folder, "gone.example.org.1", "p256", "privkey.pem"))
    assert model.lost_under(folder) == []
    assert model.lost(folder, store.root) == []


def test_a_folder_made_durably_has_its_name_fsynced_once(tmp_path, monkeypatch) -> None:
    """ensure_dir(durable=True): what the account, notification and dns-persist folders use."""
    from mdcore.fsutil import ensure_dir

    model = PowerCutModel(monkeypatch)
    folder = str(tmp_path / "events")
    ensure_dir(folder, durable=True)
    assert model.lost(folder, str(tmp_path)) == [] and model.fsyncs == [str(tmp_path)]
    ensure_dir(folder, durable=True)  # there already: nothing more
    assert model.fsyncs == [str(tmp_path)]
    other = str(tmp_path / "plain")
    ensure_dir(other)
    assert model.lost(other, str(tmp_path)) == ["the name plain in %s" % tmp_path]


def test_folders_made_durably_together_fsync_each_parent_once(tmp_path, monkeypatch) -> None:
    """ensure_dirs(durable=True): what the store's set-up, installs/ and retired/ use; a folder made
    inside a new one needs the new one's fsync too, a folder there already none."""
    from mdcore.fsutil import ensure_dirs

    (tmp_path / "there").mkdir()
    model = PowerCutModel(monkeypatch)
    top = str(tmp_path)
    paths = [os.path.join(top, name) for name in ("a", "b", "there")] + [os.path.join(top, "a", "inner")]
    assert ensure_dirs(paths, {paths[1]: 0o755}, durable=True) == [paths[0], paths[1], paths[3]]
    assert sorted(model.fsyncs) == sorted([top, paths[0]])  # each parent once
    assert [model.lost(path, top) for path in paths] == [[], [], [], []]
    assert oct(os.stat(paths[1]).st_mode & 0o777) == "0o755" and oct(os.stat(paths[3]).st_mode & 0o777) == "0o700"
    assert ensure_dirs(paths, durable=True) == [] and len(model.fsyncs) == 2
