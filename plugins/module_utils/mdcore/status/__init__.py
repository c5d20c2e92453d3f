"""Status views of a store (mod_md's md-status): the model (model.py: types only) built from the
store alone (build.py: managed.py, static.py, staples.py, notify_view.py), JSON, HTML and
Prometheus renderings, the writer of <store>/status/, the 'expiring' event (expiring.py), and the
fleet report built from many hosts' md_status facts."""

from .build import build_status
from .expiring import check_expiring, expiring_details
from .html_view import render_html
from .json_view import md_json, report_json
from .model import Health, MdState, MdView, StapleHealth, StatusReport
from .prom_view import render_prometheus
from .writer import write_status_files

__all__ = ["build_status", "write_status_files", "report_json", "md_json", "render_html", "render_prometheus",
           "check_expiring", "expiring_details", "StatusReport", "MdView", "MdState", "Health", "StapleHealth"]
