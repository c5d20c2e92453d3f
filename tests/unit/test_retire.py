"""Retiring managed domains the configuration no longer lists: sets kept in retired/, never
activated again, gone from the active store; a retirement killed half-way is finished."""

from __future__ import annotations

import os

from mdcore.retire import retire_unconfigured
from mdcore.store import Store


def test_retired_sets_leave_the_store_and_stay_kept(run_md, make_cfg, store: Store, clock):
    run_md(make_cfg(["keep.example.org"]))
    gone = run_md(make_cfg(["gone.example.org"]))
    key = gone.certificates["p256"]["key_path"]
    done = retire_unconfigured(store, {"keep.example.org"}, clock)
    assert [d["md"] for d in done] == ["gone.example.org"]
    assert store.managed_names() == ["keep.example.org"] and store.stored_names() == ["keep.example.org"]
    assert not os.path.exists(key) and not os.path.exists(store.job_path("gone.example.org"))
    (md, when, folder), = store.retired()
    assert md == "gone.example.org" and os.path.isfile(os.path.join(folder, "gone.example.org.1", "p256",
                                                                    "privkey.pem"))
    assert os.path.isfile(os.path.join(folder, "job.json"))
    assert (os.stat(store.path("retired")).st_mode & 0o777) == 0o700
    assert store.recover() == [] and store.managed_names() == ["keep.example.org"]  # never re-activated
    assert retire_unconfigured(store, {"keep.example.org"}, clock) == []  # nothing more to do


def test_a_retirement_killed_half_way_is_finished(run_md, make_cfg, store: Store, clock):
    run_md(make_cfg(["gone.example.org"]))
    # killed after the sets left archive/: the link dangles, the job is still there
    os.makedirs(store.path("retired", "gone.example.org", "x"))
    os.rename(store.path("archive", "gone.example.org.1"),
              store.path("retired", "gone.example.org", "x", "gone.example.org.1"))
    assert store.stored_names() == ["gone.example.org"] and store.active_set("gone.example.org") is None
    done = retire_unconfigured(store, set(), clock)
    assert [d["md"] for d in done] == ["gone.example.org"] and store.stored_names() == []
    assert not os.path.lexists(store.active_dir("gone.example.org"))


def test_staging_of_an_unconfigured_domain_goes_too(store: Store, clock):
    os.makedirs(store.staging_dir("half.example.org"))
    assert store.stored_names() == ["half.example.org"]
    retire_unconfigured(store, set(), clock)
    assert not os.path.exists(store.staging_dir("half.example.org"))


def test_purge(run_md, make_cfg, store: Store, clock):
    run_md(make_cfg(["gone.example.org"]))
    retire_unconfigured(store, set(), clock)
    (_md, _when, folder), = store.retired()
    store.purge_retired(folder)
    assert store.retired() == [] and not os.path.exists(store.path("retired", "gone.example.org"))
