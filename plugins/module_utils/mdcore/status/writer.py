"""Writing the views into <store>/status/ (and, when configured, the Prometheus text where
node_exporter's textfile collector reads it). Every file is replaced atomically (temp file +
fsync + rename) and only when its content changed.

  status/md-status.json          all domains (mod_md's md-status), most urgent first
  status/domains/<md>.json       one domain each (a subfolder: a domain may be named 'md-status')
  status/index.html              the host page: certificates and stapling tables
  status/mdfleet.prom            Prometheus text

With a publish folder (host config status.publish_dir), the JSON and HTML views are also written
there, world-readable, for the web server to serve (mod_md's md-status handler); the Prometheus
text has its own place (status.prometheus_file).
"""

from __future__ import annotations

import json
import os

from .. import horizon
from ..errors import StoreError
from ..fsutil import DIR_MODE, PUBLIC_MODE, atomic_write, atomic_write_many, ensure_dir, read_bytes, write_if_changed
from ..state.fields import CorruptStateError
from ..store import Store, check_md_name
from .html_view import html_page
from .json_view import KeyNames, json_text, md_line, report_doc
from .memo import StatusMemo
from .model import StatusReport
from .page import HTTP_NOW, UNIX_NOW, fill
from .prom_view import prometheus_page

STATUS_JSON = "md-status.json"
DOMAINS_DIR = "domains"
INDEX_HTML = "index.html"
PROM_FILE = "mdfleet.prom"
PUBLISH_DIR_MODE = 0o755  # the web server's workers read the published copy
# Where report_page() leaves the time of generation open: no text of a status holds a NUL.
_SLOT_HTTP, _SLOT_UNIX = "\x00generated\x00", "\x00generated-unix\x00"
# per-domain files that changed from which they are written as one batch: the batch's fsyncs
# run from a thread pool, which a run that rewrites a few files does not need to start (or import)
BATCH_MIN = 8


def _write(store: Store, path: str, data: bytes, changed: list[str]) -> None:
    """Replace a status file when its content differs. Status files are derived: whatever stands
    in the way (a folder, a file that cannot be read) is set aside; a write that fails (a full
    disk) is a StoreError naming the file."""
    try:
        try:
            wrote = write_if_changed(path, data, PUBLIC_MODE)
        except IsADirectoryError:
            store.set_aside_corrupt(CorruptStateError(path, "a folder where a status file must be"))
            wrote = write_if_changed(path, data, PUBLIC_MODE)
    except OSError as exc:
        raise StoreError("cannot write the status file %s: %s" % (path, exc.strerror or exc)) from None
    if wrote:
        changed.append(path)


def _write_batch(store: Store, folder: str, files: list[tuple[str, bytes]], changed: list[str],
                 memo: StatusMemo | None) -> None:
    """_write for many files of one folder: those whose content differs are replaced together
    (fsutil.atomic_write_many: one fsync of the folder for all; one atomic_write each, 20 new
    domains' files were 40 fsyncs in a row after the orders). ``memo``: the status memo,
    which knows the files it saw holding a content (one stat instead of a read), and learns each
    file as it is now."""
    todo = []
    for name, data in files:
        path = os.path.join(folder, name)
        if memo is not None and memo.written(path, data):
            continue
        try:
            same = read_bytes(path) == data
        except IsADirectoryError:
            store.set_aside_corrupt(CorruptStateError(path, "a folder where a status file must be"))
            same = False
        except OSError as exc:
            raise StoreError("cannot write the status file %s: %s" % (path, exc.strerror or exc)) from None
        if not same:
            todo.append((name, data, PUBLIC_MODE))
        elif memo is not None:
            memo.file_is(path, data)
    if not todo:
        return
    try:
        if len(todo) < BATCH_MIN:
            for name, data, mode in todo:
                atomic_write(os.path.join(folder, name), data, mode)
        else:
            atomic_write_many(folder, todo)
    except OSError as exc:
        raise StoreError("cannot write the status file %s: %s" % (exc.filename or folder, exc.strerror or exc)) \
            from None
    for name, data, _mode in todo:
        path = os.path.join(folder, name)
        changed.append(path)
        if memo is not None:
            memo.file_is(path, data)


def write_status_files(store: Store, report: StatusReport, prometheus_file: str | None = None,
                       partial: bool = False, publish_dir: str | None = None,
                       key_names: str = KeyNames.MDFLEET, memo: StatusMemo | None = None) -> list[str]:
    """Write every view of ``report``; returns the paths whose content changed. ``partial``: the
    report covers only some domains (a names filter): per-domain files of the others are kept
    and the combined views are not written. ``publish_dir``: a web-readable copy of the JSON and
    HTML views (the store's status/ is root-only), as mod_md serves md-status; ``key_names``: how
    the JSON views name certificates (KeyNames); ``memo``: the status memo of the run (the
    per-domain files it knows are not read again)."""
    changed: list[str] = []
    targets = [(store.status_dir(), DIR_MODE)] + ([(publish_dir, PUBLISH_DIR_MODE)] if publish_dir else [])
    try:
        folders = [ensure_dir(folder, mode) for folder, mode in targets]
        per_md = [ensure_dir(os.path.join(folder, DOMAINS_DIR), mode) for folder, mode in targets]
    except OSError as exc:
        raise StoreError("cannot create the status folder %s: %s" % (exc.filename, exc.strerror or exc)) from None

    wanted = set()
    # Each domain's line is made once: its own file is its line of md-status.json.
    lines = {id(md): md_line(md, key_names) for md in report.domains}
    md_files = []
    for md in report.domains:
        if md.static:
            continue  # files are named by their path: they live in md-status.json only
        name = check_md_name(md.name)
        wanted.add(name + ".json")
        md_files.append((name + ".json", (lines[id(md)] + "\n").encode()))
    for md_folder in per_md:
        _write_batch(store, md_folder, md_files, changed, memo)
    if partial:
        return changed
    for md_folder in per_md:
        for entry in sorted(os.listdir(md_folder)):
            if entry.endswith(".json") and not entry.startswith(".") and entry not in wanted:
                try:
                    os.unlink(os.path.join(md_folder, entry))  # a domain no longer in the store
                except IsADirectoryError:
                    store.set_aside_corrupt(CorruptStateError(os.path.join(md_folder, entry), "a folder"))
                changed.append(os.path.join(md_folder, entry))
    # The three pages are templates (status/page.py) filled for the report's time; a drive that
    # may be replayed (quiet.py) keeps them, to fill them again at its replays' times.
    recorder = horizon.recorder()
    json_page, index_page = report_page(report, key_names, lines=lines) + ["\n"], html_page(report)
    prom_page = prometheus_page(report)
    pages = [(os.path.join(folder, STATUS_JSON), json_page) for folder in folders]
    pages += [(os.path.join(folder, INDEX_HTML), index_page) for folder in folders]
    pages.append((os.path.join(folders[0], PROM_FILE), prom_page))
    texts = {id(page): fill(page, report.generated).encode() for page in (json_page, index_page, prom_page)}
    for path, page in pages:
        _write(store, path, texts[id(page)], changed)
        if recorder is not None:
            recorder.page(path, page)
    if prometheus_file:
        # The collector's folder belongs to node_exporter: created when missing, its mode never changed.
        try:
            os.makedirs(os.path.dirname(os.path.abspath(prometheus_file)), mode=0o755, exist_ok=True)
        except OSError as exc:
            raise StoreError("cannot create the folder of %s: %s" % (prometheus_file, exc.strerror or exc)) from None
        _write(store, prometheus_file, texts[id(prom_page)], changed)
        if recorder is not None:
            recorder.page(os.path.abspath(prometheus_file), prom_page)
    return changed


def report_page(report: StatusReport, key_names: str, lines: dict[int, str] | None = None) -> list:
    """md-status.json (report_text) as a template (status/page.py): its time of generation left
    open; the domains' lines change only with their files (or at a moment the status memo knows)."""
    doc, encoded = report_doc(report, key_names, lines)
    if "generated" not in doc:
        return [json_text(doc, encoded=encoded)]
    doc["generated"], doc["generated-unix"] = _SLOT_HTTP, _SLOT_UNIX
    head, _sep, rest = json_text(doc, encoded=encoded).partition(json.dumps(_SLOT_HTTP))
    middle, _sep, tail = rest.partition(json.dumps(_SLOT_UNIX))
    return [head + '"', (HTTP_NOW,), '"' + middle, (UNIX_NOW,), tail]


__all__ = ["write_status_files", "report_page", "STATUS_JSON", "DOMAINS_DIR", "INDEX_HTML", "PROM_FILE"]
