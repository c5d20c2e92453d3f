"""The defaults that engine code takes as plain values (a job's config snapshot, the status views, a
stapling run's knobs), each defined once here and given to its option in the table (domain.py,
host.py, stapling.py take them from here): code that needs a default then imports this small file,
not the table with its descriptions, which a module's payload would have to ship (issue 13 item 3)."""

from __future__ import annotations

DEFAULT_RENEW_WINDOW = "33%"
DEFAULT_WARN_WINDOW = "10%"
KEY_NAMES = ("mdfleet", "mod_md")  # status.key_names: our key type names (p256) or mod_md's (secp256r1)
DEFAULT_STAPLING_WINDOW = "33%"
DEFAULT_KEEP = "7d"
STAPLING_TIMEOUT = 10  # seconds of one responder exchange
STAPLING_WORKERS = 16  # exchanges in flight: one poll() loop carries them (net/multiplex.py), so more are cheap
METHODS = ("auto", "get", "post")  # ocsp.config.FetchMethod; the first is the default

__all__ = ["DEFAULT_RENEW_WINDOW", "DEFAULT_WARN_WINDOW", "KEY_NAMES", "DEFAULT_STAPLING_WINDOW", "DEFAULT_KEEP",
           "STAPLING_TIMEOUT", "STAPLING_WORKERS", "METHODS"]
