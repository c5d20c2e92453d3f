"""Status views of a store (mod_md's md-status): the model built from the store alone, JSON,
HTML and Prometheus renderings, the writer of <store>/status/, and the fleet report built from
many hosts' md_status facts."""

from .html_view import render_html
from .json_view import md_json, report_json
from .model import Health, MdState, MdView, StapleHealth, StatusReport, build_status
from .prom_view import render_prometheus
from .writer import write_status_files

__all__ = ["build_status", "write_status_files", "report_json", "md_json", "render_html", "render_prometheus",
           "StatusReport", "MdView", "MdState", "Health", "StapleHealth"]
