"""Colours of the status pages (host page and fleet report), one per health: the browser tests
look for exactly these in screenshots."""

from __future__ import annotations

# health -> (strong colour for badges and the row's left edge, light row background)
HEALTH_COLOURS = {
    "expired": ("#8e0000", "#f4b6b6"),
    "error": ("#c62828", "#fbd9d9"),
    "incomplete": ("#5f5f5f", "#e4e4e4"),
    "expiring": ("#e65100", "#ffe2c2"),
    "renewing": ("#1565c0", "#d6e7fb"),
    "ok": ("#2e7d32", "#dcefdc"),
    "unreachable": ("#37474f", "#cfd8dc"),  # fleet report: no status from this host
    "drift": ("#6a1b9a", "#ecd9f5"),  # fleet report: a member serves another serial than its issuer
}

STAPLE_COLOURS = {
    "error": ("#c62828", "#fbd9d9"),
    "warning": ("#e65100", "#ffe2c2"),
    "none": ("#5f5f5f", "#eeeeee"),
    "ok": ("#2e7d32", "#dcefdc"),
}


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def css() -> str:
    """The shared stylesheet: rows tinted by health, badges in the strong colour."""
    rules = [
        "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:16px;color:#1b1b1b;background:#fff}",
        "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}",
        ".meta{color:#555;font-size:12px;margin-bottom:10px}",
        "table{border-collapse:collapse;width:100%;font-size:12px}",
        "th{background:#263238;color:#fff;text-align:left;padding:4px 6px;font-weight:600}",
        # long URLs, names and messages may break after . / _ (html_view.brk puts <wbr> there), so the
        # tables fit a laptop screen (1024-1280 px) instead of pushing the CA and Renewal columns off it
        "td{padding:4px 6px;border-bottom:1px solid #fff;vertical-align:top;overflow-wrap:break-word}",
        ".badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-weight:600}",
        ".summary .badge{margin-right:6px;font-size:13px}",
        ".small{color:#444;font-size:11px}.mono{font-family:DejaVu Sans Mono,monospace}",
        ".bar{height:9px;border-radius:4px;min-width:2px}",
        ".empty{color:#666;font-style:italic;padding:8px}",
    ]
    for name, (strong, light) in HEALTH_COLOURS.items():
        rules.append("tr.health-%s td{background:%s}tr.health-%s td:first-child{border-left:6px solid %s}"
                     % (name, light, name, strong))
        rules.append(".badge.health-%s,.bar.health-%s{background:%s}" % (name, name, strong))
    for name, (strong, light) in STAPLE_COLOURS.items():
        rules.append("tr.staple-%s td{background:%s}tr.staple-%s td:first-child{border-left:6px solid %s}"
                     % (name, light, name, strong))
        rules.append(".badge.staple-%s{background:%s}" % (name, strong))
    return "\n".join(rules)


__all__ = ["HEALTH_COLOURS", "STAPLE_COLOURS", "rgb", "css"]
