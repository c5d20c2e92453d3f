"""Headless Chromium (Debian's chromium) for the status pages: the DOM after rendering and a
screenshot, for local files only (file:// URLs: no network)."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from peers.require import need

REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO / "tests" / "output" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


class Chromium:
    def __init__(self, profile: Path) -> None:
        self.binary = need("chromium")
        self.profile = profile

    @staticmethod
    def available() -> bool:
        import shutil

        return shutil.which("chromium") is not None

    def _run(self, page: Path, *extra: str) -> subprocess.CompletedProcess:
        argv = [self.binary, *FLAGS, "--user-data-dir=%s" % self.profile, *extra, page.resolve().as_uri()]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    def dump_dom(self, page: Path) -> str:
        return self._run(page, "--dump-dom").stdout

    def screenshot(self, page: Path, name: str, width: int = 1400, height: int = 1800) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / name
        if out.exists():
            out.unlink()
        self._run(page, "--screenshot=%s" % out, "--window-size=%d,%d" % (width, height))
        assert out.exists() and out.stat().st_size > 1000
        print("screenshot: %s" % out)
        return out


# Appended to a copy of a page (the pages themselves have no script): layout facts at the window
# size, written into the DOM that --dump-dom prints.
MEASURE = """<script>
(function () {
  const out = {viewport: window.innerWidth, scroll: document.documentElement.scrollWidth, tables: {}};
  for (const t of document.querySelectorAll("table[id]")) {
    const cells = Array.from(t.querySelectorAll("th, td"));
    out.tables[t.id] = {right: t.getBoundingClientRect().right,
                        cells_right: Math.max(0, ...cells.map(c => c.getBoundingClientRect().right))};
  }
  const pre = document.createElement("pre");
  pre.id = "mdfleet-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def measure_layout(chromium: Chromium, page: Path, width: int, height: int = 900) -> dict:
    """{viewport, scroll, tables: {id: {right, cells_right}}} of ``page`` in a window ``width`` wide."""
    probe = page.with_name(page.stem + ".measure.html")
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    dom = chromium._run(probe, "--dump-dom", "--window-size=%d,%d" % (width, height)).stdout
    found = re.search(r'<pre id="mdfleet-measure">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


class Dom(HTMLParser):
    """Rows of the rendered tables (by table id), with their data-* attributes and visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.text: list[str] = []
        self._table: str | None = None
        self._row: dict | None = None
        self._skip = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("style", "script", "title"):
            self._skip += 1
        if tag in ("table", "svg") and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        if tag == "tr" and self._table and any(k.startswith("data-") for k in attrs):
            self._row = dict(attrs, text="")
            self.tables[self._table].append(self._row)
        if tag == "rect" and self._table:
            self.tables[self._table].append(dict(attrs, text=""))

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
        if tag == "tr":
            self._row = None
        if tag in ("table", "svg"):
            self._table = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._row is not None:
            self._row["text"] += data

    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def colour_runs(column: list[tuple[int, int, int]], palette: dict[str, tuple[int, int, int]]) -> list[str]:
    """Names of the palette colours met going down a pixel column; a run of equal colours (rows
    of the same health, with white lines between them) counts once."""
    by_rgb = {rgb: name for name, rgb in palette.items()}
    runs: list[str] = []
    for pixel in column:
        name = by_rgb.get(pixel)
        if name is not None and (not runs or runs[-1] != name):
            runs.append(name)
    return runs
