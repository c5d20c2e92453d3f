"""mdcore.hostfiles (the host_files module's engine): folders, files, links and prune rules in one
pass; a second pass changes nothing, check mode plans without touching anything, and paths of the
wrong kind are clear errors."""

from __future__ import annotations

import grp
import os
import pwd
import stat

import pytest

from mdcore.errors import MdError
from mdcore.hostfiles import Action, HostFiles, Prune, WantDir, WantFile, WantLink, ensure

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def want(root, **kw) -> HostFiles:
    base = dict(
        dirs=[WantDir(str(root / "a" / "b"), 0o700), WantDir(str(root / "a"), 0o755)],
        files=[WantFile(str(root / "a" / "site.conf"), b"site\n", 0o644),
               WantFile(str(root / "a" / "b" / "staple.conf"), b"placeholder\n", 0o644, force=False)],
        links=[WantLink(str(root / "cmd"), str(root / "a" / "site.conf"))],
        prunes=[Prune(str(root / "a"), "*.conf")],
        owner=ME, group=MY_GROUP)
    base.update(kw)
    return HostFiles(**base)


def actions(changes) -> dict[str, str]:
    return {c.path: c.action for c in changes}


def test_first_pass_creates_everything_and_the_second_changes_nothing(tmp_path):
    changes = ensure(want(tmp_path), check=False)
    assert actions(changes) == {str(tmp_path / "a"): Action.CREATED, str(tmp_path / "a" / "b"): Action.CREATED,
                                str(tmp_path / "cmd"): Action.LINKED, str(tmp_path / "a" / "site.conf"): Action.CREATED,
                                str(tmp_path / "a" / "b" / "staple.conf"): Action.CREATED}
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "site.conf").st_mode) == 0o644
    assert os.readlink(tmp_path / "cmd") == str(tmp_path / "a" / "site.conf")
    assert ensure(want(tmp_path), check=False) == []


def test_changes_are_found_and_fixed_a_kept_file_keeps_its_content(tmp_path):
    ensure(want(tmp_path), check=False)
    (tmp_path / "a" / "site.conf").write_text("edited\n")
    (tmp_path / "a" / "b" / "staple.conf").write_text("the glue's staple\n")
    os.chmod(tmp_path / "a", 0o777)
    (tmp_path / "a" / "gone.conf").write_text("a domain no longer managed\n")
    (tmp_path / "a" / "other.txt").write_text("not matched\n")
    os.unlink(tmp_path / "cmd")
    os.symlink("elsewhere", tmp_path / "cmd")
    changes = ensure(want(tmp_path), check=False)
    assert actions(changes) == {str(tmp_path / "a"): Action.ATTRIBUTES, str(tmp_path / "cmd"): Action.LINKED,
                                str(tmp_path / "a" / "site.conf"): Action.UPDATED,
                                str(tmp_path / "a" / "gone.conf"): Action.REMOVED}
    site = [c for c in changes if c.action == Action.UPDATED][0]
    assert (site.before, site.after) == ("edited\n", "site\n")
    assert (tmp_path / "a" / "site.conf").read_text() == "site\n"
    assert (tmp_path / "a" / "b" / "staple.conf").read_text() == "the glue's staple\n"
    assert not (tmp_path / "a" / "gone.conf").exists() and (tmp_path / "a" / "other.txt").exists()
    assert os.readlink(tmp_path / "cmd") == str(tmp_path / "a" / "site.conf")
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp-") or "tmp-" in p] == []


def test_check_mode_plans_and_touches_nothing(tmp_path):
    assert set(actions(ensure(want(tmp_path), check=True)).values()) == {Action.CREATED, Action.LINKED}
    assert os.listdir(tmp_path) == []
    ensure(want(tmp_path), check=False)
    (tmp_path / "a" / "site.conf").write_text("edited\n")
    (tmp_path / "a" / "gone.conf").write_text("x\n")
    assert actions(ensure(want(tmp_path), check=True)) == {str(tmp_path / "a" / "site.conf"): Action.UPDATED,
                                                           str(tmp_path / "a" / "gone.conf"): Action.REMOVED}
    assert (tmp_path / "a" / "site.conf").read_text() == "edited\n" and (tmp_path / "a" / "gone.conf").exists()


def test_kept_paths_and_folders_survive_a_prune(tmp_path):
    ensure(want(tmp_path), check=False)
    (tmp_path / "a" / "mine.conf").write_text("kept\n")
    (tmp_path / "a" / "dir.conf").mkdir()
    rules = [Prune(str(tmp_path / "a"), "*.conf", frozenset([str(tmp_path / "a" / "mine.conf")])),
             Prune(str(tmp_path / "missing"), "*")]
    assert ensure(want(tmp_path, prunes=rules), check=False) == []
    assert (tmp_path / "a" / "mine.conf").exists() and (tmp_path / "a" / "dir.conf").is_dir()


@pytest.mark.parametrize("kind", ["dir", "file", "link"])
def test_a_path_of_the_wrong_kind_is_an_error_naming_it(tmp_path, kind):
    (tmp_path / "x").mkdir()
    (tmp_path / "f").write_text("a file\n")
    wrong = {"dir": dict(dirs=[WantDir(str(tmp_path / "f"), 0o755)], files=[], links=[]),
             "file": dict(dirs=[], files=[WantFile(str(tmp_path / "x"), b"", 0o644)], links=[]),
             "link": dict(dirs=[], files=[], links=[WantLink(str(tmp_path / "x"), "f")])}[kind]
    named = tmp_path / ("f" if kind == "dir" else "x")
    with pytest.raises(MdError, match="%s (exists and is not a|is a folder)" % named):
        ensure(HostFiles(owner=ME, group=MY_GROUP, **wrong), check=False)


def test_an_unknown_owner_is_an_error():
    with pytest.raises(MdError, match="no such user: mdfleet-nobody-here"):
        ensure(HostFiles(owner="mdfleet-nobody-here", group=MY_GROUP), check=True)
    with pytest.raises(MdError, match="no such group: mdfleet-nobody-here"):
        ensure(HostFiles(owner=ME, group="mdfleet-nobody-here"), check=True)


def test_a_path_under_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("a file, not a folder\n")
    with pytest.raises(MdError, match="cannot read %s: Not a directory" % (tmp_path / "f" / "site.conf")):
        ensure(HostFiles(files=[WantFile(str(tmp_path / "f" / "site.conf"), b"x", 0o644)], owner=ME, group=MY_GROUP),
               check=False)


def test_a_file_that_cannot_be_removed_is_an_error_naming_it(tmp_path):
    """Pruning (and the glue's stale files) share fsutil.remove_file: a missing file is no
    change, any other failure a StoreError (an MdError: the module's clean failure) naming it."""
    from mdcore.errors import StoreError
    from mdcore.fsutil import remove_file

    assert remove_file(str(tmp_path / "gone")) is False
    (tmp_path / "sub").mkdir()
    with pytest.raises(StoreError, match="cannot remove %s: " % (tmp_path / "sub")):
        remove_file(str(tmp_path / "sub"))  # a folder: unlink fails with EISDIR
    (tmp_path / "f").write_text("x")
    assert remove_file(str(tmp_path / "f")) is True and not (tmp_path / "f").exists()
