"""Status views of a store (mod_md's md-status): the model (model.py: types only) built from the
store alone (build.py: managed.py, static.py, staples.py, notify_view.py), JSON, HTML and
Prometheus renderings, the writer of <store>/status/, the 'expiring' event (expiring.py), and the
fleet report built from many hosts' md_status facts.

The names below are imported on first use (mdcore/lazy.py): md_status ships and imports the
model, build and the JSON view, not the HTML and Prometheus renderings nor the writer. Files of
plugins/ import the submodules."""

from __future__ import annotations

from ..lazy import lazy_names

_WHERE = {
    "build_status": "build", "write_status_files": "writer", "report_json": "json_view", "md_json": "json_view",
    "render_html": "html_view", "render_prometheus": "prom_view", "check_expiring": "expiring",
    "expiring_details": "expiring", "StatusReport": "model", "MdView": "model", "MdState": "model",
    "Health": "model", "StapleHealth": "model",
}
__getattr__ = lazy_names(__name__, _WHERE)
