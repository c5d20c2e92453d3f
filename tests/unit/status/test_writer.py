"""status/ files: written atomically, only when changed, world-readable (nothing secret in them),
stale per-domain files removed, the textfile collector's copy written without touching its folder."""

from __future__ import annotations

import json
import os
import stat

from mdcore.status import build_status, write_status_files
from mdcore.status.writer import DOMAINS_DIR, INDEX_HTML, PROM_FILE, STATUS_JSON

from .synth import DAY, Spec


def test_writes_every_view_once(synth, clock, tmp_path):
    store = synth(Spec("a.example"), Spec("md-status", age=70 * DAY))  # a domain may be named md-status
    prom_dir = tmp_path / "node-exporter"
    prom_dir.mkdir(mode=0o775)
    os.chmod(prom_dir, 0o775)
    report = build_status(store, clock)
    changed = write_status_files(store, report, prometheus_file=str(prom_dir / "mdfleet.prom"))
    folder = store.status_dir()
    expected = {os.path.join(folder, name) for name in (STATUS_JSON, INDEX_HTML, PROM_FILE)} | {
        os.path.join(folder, DOMAINS_DIR, "a.example.json"),
        os.path.join(folder, DOMAINS_DIR, "md-status.json"),
        str(prom_dir / "mdfleet.prom")}
    assert set(changed) == expected
    for path in expected:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(prom_dir).st_mode) == 0o775  # node_exporter's folder left as it was
    whole = json.load(open(os.path.join(folder, STATUS_JSON)))
    assert [md["name"] for md in whole["managed-domains"]] == ["md-status", "a.example"]
    one = json.load(open(os.path.join(folder, DOMAINS_DIR, "md-status.json")))
    assert one["name"] == "md-status" and one["health"] == "renewing"
    assert open(prom_dir / "mdfleet.prom").read() == open(os.path.join(folder, PROM_FILE)).read()
    assert write_status_files(store, report, prometheus_file=str(prom_dir / "mdfleet.prom")) == []
    assert not [n for n in os.listdir(folder) if n.startswith(".tmp")]


def test_removed_domains_disappear_and_partial_reports_keep_others(synth, clock):
    store = synth(Spec("a.example"), Spec("b.example"))
    write_status_files(store, build_status(store, clock))
    per = os.path.join(store.status_dir(), DOMAINS_DIR)
    assert sorted(os.listdir(per)) == ["a.example.json", "b.example.json"]
    clock.advance(3600)
    partial = build_status(store, clock, names=["a.example"])
    changed = write_status_files(store, partial, partial=True)
    assert changed == [os.path.join(per, "a.example.json")] and sorted(os.listdir(per)) == ["a.example.json",
                                                                                            "b.example.json"]
    store.remove_md("b.example")
    changed = write_status_files(store, build_status(store, clock))
    assert os.path.join(per, "b.example.json") in changed and os.listdir(per) == ["a.example.json"]


def test_published_copy_for_the_web_server(synth, clock, tmp_path):
    """status/ is 0700 inside the 0700 store: a web server cannot serve it. status.publish_dir gets
    a world-readable copy of the JSON and HTML views (mod_md's md-status), kept in step."""
    from mdcore.status.json_view import KeyNames

    store = synth(Spec("a.example", key_types=["rsa2048"]), Spec("b.example"))
    publish = tmp_path / "www" / "md-status"
    changed = write_status_files(store, build_status(store, clock), publish_dir=str(publish),
                                 key_names=KeyNames.MOD_MD)
    expected = {str(publish / STATUS_JSON), str(publish / INDEX_HTML), str(publish / DOMAINS_DIR / "a.example.json"),
                str(publish / DOMAINS_DIR / "b.example.json")}
    assert expected <= set(changed) and not (publish / PROM_FILE).exists()
    assert stat.S_IMODE(os.stat(publish).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(publish / DOMAINS_DIR).st_mode) == 0o755
    for path in expected:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert (publish / STATUS_JSON).read_bytes() == open(os.path.join(store.status_dir(), STATUS_JSON), "rb").read()
    assert "rsa" in json.loads((publish / DOMAINS_DIR / "a.example.json").read_text())["cert"]
    assert stat.S_IMODE(os.stat(store.status_dir()).st_mode) == 0o700  # the store's own stays root-only
    store.remove_md("b.example")
    changed = write_status_files(store, build_status(store, clock), publish_dir=str(publish),
                                 key_names=KeyNames.MOD_MD)
    assert str(publish / DOMAINS_DIR / "b.example.json") in changed
    assert sorted(os.listdir(publish / DOMAINS_DIR)) == ["a.example.json"]


def test_a_folder_where_a_status_file_must_be_is_set_aside(synth, clock):
    """Status files are derived: whatever stands in their way is set aside (and said), never the end of the run."""
    store = synth(Spec("a.example"))
    folder = store.status_dir()
    os.makedirs(os.path.join(folder, STATUS_JSON, "junk"))
    os.makedirs(os.path.join(folder, DOMAINS_DIR, "gone.example.json"))  # where a stale file is removed
    changed = write_status_files(store, build_status(store, clock))
    assert os.path.join(folder, STATUS_JSON) in changed and os.path.isfile(os.path.join(folder, STATUS_JSON))
    assert [n for n in os.listdir(folder) if n.startswith(STATUS_JSON + ".corrupt-")]
    assert [n for n in os.listdir(os.path.join(folder, DOMAINS_DIR)) if n.startswith("gone.example.json.corrupt-")]
    assert any("a folder where a status file must be; set aside as" in note for note in store.notes)


def test_an_idle_run_rewrites_no_domain_file(synth, clock):
    """A later run with nothing changed (an idle drive a few minutes on) leaves every per-domain
    file as it was (same inode and mtime); only the views that carry the time are replaced."""
    store = synth(Spec("a.example"), Spec("b.example", age=70 * DAY), Spec("c.example", key_types=["p256", "rsa2048"]))
    clock.advance(3600)  # off the synth's whole days: "expires in N days" stays N for the next minutes
    write_status_files(store, build_status(store, clock))
    per = os.path.join(store.status_dir(), DOMAINS_DIR)
    before = {name: os.stat(os.path.join(per, name)) for name in os.listdir(per)}
    clock.advance(300)
    changed = write_status_files(store, build_status(store, clock))
    folder = store.status_dir()
    assert sorted(changed) == sorted(os.path.join(folder, name) for name in (STATUS_JSON, INDEX_HTML, PROM_FILE))
    after = {name: os.stat(os.path.join(per, name)) for name in os.listdir(per)}
    assert {n: (s.st_ino, s.st_mtime_ns) for n, s in after.items()} == \
        {n: (s.st_ino, s.st_mtime_ns) for n, s in before.items()}
    whole = json.load(open(os.path.join(folder, STATUS_JSON)))
    for md in whole["managed-domains"]:
        assert json.load(open(os.path.join(per, md["name"] + ".json"))) == md


def test_many_new_domain_files_are_written_as_one_batch(synth, clock, monkeypatch):
    """From BATCH_MIN changed per-domain files on they are written together (atomic_write_many:
    one fsync of the folder), each only when it changed, a folder in the way set aside."""
    from mdcore.status import writer

    names = ["d%02d.example" % i for i in range(writer.BATCH_MIN + 2)]
    store = synth(*[Spec(name) for name in names])
    per = os.path.join(store.status_dir(), DOMAINS_DIR)
    os.makedirs(os.path.join(per, names[0] + ".json", "junk"))
    batches = []
    real = writer.atomic_write_many
    monkeypatch.setattr(writer, "atomic_write_many", lambda folder, files: (batches.append(
        (folder, [name for name, _data, _mode in files])), real(folder, files)))
    changed = write_status_files(store, build_status(store, clock))
    assert batches == [(per, [name + ".json" for name in names])]
    assert {os.path.join(per, name + ".json") for name in names} <= set(changed)
    for name in names:
        path = os.path.join(per, name + ".json")
        assert json.load(open(path))["name"] == name and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [n for n in os.listdir(per) if n.startswith(names[0] + ".json.corrupt-")]
    assert not [n for n in os.listdir(per) if n.startswith(".tmp")]
    assert write_status_files(store, build_status(store, clock)) == [] and len(batches) == 1  # nothing changed
