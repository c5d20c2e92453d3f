"""What md_status reads of the host's config file: the store, the monitored certificate files
(stapling.others) and how the status names key types (status.key_names), checked against the option
table as mdfleet checks them (unknown top-level keys, the top-level settings, the stapling and status
sections: hostconfig.py checks them with the same functions). The domain entries, their defaults,
the accounts and the reload commands are mdfleet's to check (hostconfig.py, ``mdfleet check-config``),
not parsed here, so that md_status neither ships nor imports the config parser (issue 13 item 3: the
module's AnsiballZ payload). The tables are the compact copies of the option table's that
scripts/gen_options.py writes (options/status_config_spec.py: no descriptions)."""

from __future__ import annotations

from dataclasses import dataclass

from .jsonconfig import config_error, load_json_file
from .options.check import check_options
from .options.status_config_spec import HOST_KEYS, SECTIONS, STAPLING_OPTIONS, STATUS_OPTIONS, TOP_LEVEL


def top_level(doc: object, path: str, notes: list[str] | None = None) -> dict:
    """The file's top-level settings (all but SECTIONS), checked; ConfigError on an unknown key."""
    if not isinstance(doc, dict):
        raise config_error(path, "top level", "must be a JSON object")
    unknown = sorted(str(k) for k in doc if k not in HOST_KEYS)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        known = ", ".join(HOST_KEYS)
        raise config_error(path, "top level", "unknown key%s %s (known: %s)" % (plural, ", ".join(unknown), known))
    return check_options(TOP_LEVEL, {k: v for k, v in doc.items() if k not in SECTIONS}, path, notes)


def section(doc: dict, name: str, path: str, notes: list[str] | None = None) -> dict:
    """The stapling or status section, checked (absent or null: the defaults)."""
    options = {"stapling": STAPLING_OPTIONS, "status": STATUS_OPTIONS}[name]
    return check_options(options, {} if doc.get(name) is None else doc[name], path, notes, prefix=name)


@dataclass(frozen=True)
class StatusSettings:
    store: str
    others: tuple[str, ...]  # stapling.others' certificate files
    key_names: str


def load_status_settings(path: str) -> StatusSettings:
    doc = load_json_file(path)
    scalars = top_level(doc, path)
    others = tuple(o["cert"] for o in section(doc, "stapling", path)["others"])
    return StatusSettings(store=scalars["store"], others=others, key_names=section(doc, "status", path)["key_names"])
