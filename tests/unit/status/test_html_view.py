"""The host page without a browser: both tables, rows most urgent first, values escaped.
(tests/integration/status/ opens it in headless Chromium.)"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from mdcore.ocsp.state import OcspStatus
from mdcore.status import build_status, render_html
from mdcore.status.palette import HEALTH_COLOURS, css

from .synth import DAY, Spec


class Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and ("data-health" in attrs or "data-staple" in attrs):
            self.rows.append(attrs)
        if tag == "script" or any(k.startswith("on") for k in attrs):
            self.scripts += 1


def parse(text: str) -> Rows:
    rows = Rows()
    rows.feed(text)
    return rows


def test_tables_in_urgency_order(synth, clock):
    store = synth(Spec("ok.example"), Spec("err.example", errors=2), Spec("exp.example", age=85 * DAY),
                  Spec("new.example", issued=False), Spec("ren.example", age=70 * DAY),
                  Spec("rev.example", ocsp=OcspStatus.REVOKED), Spec("flaky.example", ocsp_errors=1))
    page = render_html(build_status(store, clock))
    rows = parse(page).rows
    certs = [r["data-md"] for r in rows if "data-health" in r]
    assert certs[:2] == ["err.example", "rev.example"] or certs[:2] == ["rev.example", "err.example"]
    assert certs[2:] == ["new.example", "exp.example", "ren.example", "flaky.example", "ok.example"]
    staples = [(r["data-md"], r["data-staple"]) for r in rows if "data-staple" in r]
    assert staples[0] == ("rev.example", "error") and staples[1] == ("flaky.example", "warning")
    assert 'id="certificates"' in page and 'id="stapling"' in page
    for health, (strong, light) in HEALTH_COLOURS.items():
        assert light in css() and strong in css(), health


def test_values_are_escaped_and_there_is_no_script(synth, clock):
    store = synth(Spec("a.example"))
    path = store.job_path("a.example")
    job = json.load(open(path))
    job["errors"] = 1
    job["last_error"] = {"message": "<script>alert(1)</script> & \"quotes\"", "problem_type": "<b>x</b>"}
    json.dump(job, open(path, "w"))
    page = render_html(build_status(store, clock))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page.replace("<wbr>", "")
    assert parse(page).scripts == 0 and not re.search(r"<b>x</b>", page)


def test_empty_store_page(tmp_path, clock):
    from mdcore.store import Store

    page = render_html(build_status(Store(str(tmp_path / "none"), clock), clock))
    assert "no managed domains in this store" in page and "no stapled certificates" in page
