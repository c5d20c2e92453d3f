"""Writing the views into <store>/status/ (and, when configured, the Prometheus text where
node_exporter's textfile collector reads it). Every file is replaced atomically (temp file +
fsync + rename) and only when its content changed.

  status/md-status.json          all domains (mod_md's md-status), most urgent first
  status/domains/<md>.json       one domain each (a subfolder: a domain may be named 'md-status')
  status/index.html              the host page: certificates and stapling tables
  status/mdfleet.prom            Prometheus text
"""

from __future__ import annotations

import json
import os

from ..fsutil import PUBLIC_MODE, ensure_dir, write_if_changed
from ..store import Store, check_md_name
from .html_view import render_html
from .json_view import md_json, report_json
from .model import StatusReport
from .prom_view import render_prometheus

STATUS_JSON = "md-status.json"
DOMAINS_DIR = "domains"
INDEX_HTML = "index.html"
PROM_FILE = "mdfleet.prom"


def _json_bytes(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=False) + "\n").encode()


def write_status_files(store: Store, report: StatusReport, prometheus_file: str | None = None,
                       partial: bool = False) -> list[str]:
    """Write every view of ``report``; returns the paths whose content changed. ``partial``: the
    report covers only some domains (a names filter): per-domain files of the others are kept
    and the combined views are not written."""
    folder = ensure_dir(store.status_dir())
    per_md = ensure_dir(os.path.join(folder, DOMAINS_DIR))
    changed: list[str] = []

    def put(path: str, data: bytes) -> None:
        if write_if_changed(path, data, PUBLIC_MODE):
            changed.append(path)

    wanted = set()
    for md in report.domains:
        if md.static:
            continue  # files are named by their path: they live in md-status.json only
        name = check_md_name(md.name)
        wanted.add(name + ".json")
        put(os.path.join(per_md, name + ".json"), _json_bytes(md_json(md, report.generated)))
    if partial:
        return changed
    for entry in sorted(os.listdir(per_md)):
        if entry.endswith(".json") and not entry.startswith(".") and entry not in wanted:
            os.unlink(os.path.join(per_md, entry))  # a domain no longer in the store
            changed.append(os.path.join(per_md, entry))
    put(os.path.join(folder, STATUS_JSON), _json_bytes(report_json(report)))
    put(os.path.join(folder, INDEX_HTML), render_html(report).encode())
    prom = render_prometheus(report).encode()
    put(os.path.join(folder, PROM_FILE), prom)
    if prometheus_file:
        # The collector's folder belongs to node_exporter: created when missing, its mode never changed.
        os.makedirs(os.path.dirname(os.path.abspath(prometheus_file)), mode=0o755, exist_ok=True)
        put(prometheus_file, prom)
    return changed


__all__ = ["write_status_files", "STATUS_JSON", "DOMAINS_DIR", "INDEX_HTML", "PROM_FILE"]
