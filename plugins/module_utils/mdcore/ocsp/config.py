"""What to staple and how: :class:`StapleTarget` (one certificate and its outputs) and
:class:`StaplingConfig` (window, timeouts, proxy, backoff, pruning)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..options import defaults
from ..window import Window, duration_seconds


class FetchMethod:
    AUTO, GET, POST = defaults.METHODS  # AUTO: GET when the request is short (RFC 5019: < 255 bytes), else POST
    ALL = defaults.METHODS


@dataclass
class StaplingConfig:
    """Knobs of one stapling run; the options' defaults are the option table's (mdcore/options/defaults.py,
    which options/stapling.py gives its options), the rest are mod_md's where it has one."""

    window: Window = field(default_factory=lambda: Window.parse(defaults.DEFAULT_STAPLING_WINDOW))
    timeout: float = float(defaults.STAPLING_TIMEOUT)  # deadline of one responder exchange (connect + answer)
    proxy: str | None = None  # http(s)://host:port used for the responders
    keep_seconds: float = duration_seconds(defaults.DEFAULT_KEEP)  # pruned this long after nextUpdate
    workers: int = defaults.STAPLING_WORKERS  # responder exchanges in parallel
    method: str = defaults.METHODS[0]
    max_skew: float = 300.0  # how far thisUpdate may lie in the future (clock skew)
    backoff_base: float = 30.0  # first retry after a failure; doubles per failure, +-50% jitter
    backoff_max: float = 86400.0
    haproxy_socket: str | None = None  # default runtime API socket for targets without their own
    socket_timeout: float = 5.0  # deadline of one haproxy runtime API exchange
    max_response_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        self.window = Window.parse(self.window, "stapling window")
        if self.method not in FetchMethod.ALL:
            raise ConfigError("OCSP fetch method %r unknown (one of %s)"
                              % (self.method, ", ".join(FetchMethod.ALL)))
        for name in ("timeout", "socket_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError("stapling %s must be positive" % name)
        if self.workers < 1:
            raise ConfigError("stapling workers must be at least 1")
        if self.proxy and not re.match(r"^https?://", self.proxy):
            raise ConfigError("stapling proxy %r must be an http:// or https:// URL" % self.proxy)


OTHERS_DIR = "_others"  # ocsp/_others/<id>/: certificates not managed by the store (MDStapleOthers)


@dataclass(frozen=True)
class StapleTarget:
    """One certificate to staple and where its response goes.

    ``issuer_path``: a PEM file holding the issuer (chain.pem, or a fullchain); None: look for the
    issuer in ``cert_path`` itself (a bundle). ``responder``: overrides the certificate's AIA URL.
    ``staple_file``: DER for nginx ``ssl_stapling_file``; ``haproxy_ocsp_file``: DER next to the
    PEM haproxy loads (``<crt>.ocsp``); ``haproxy_socket``: its stats socket for live updates.
    ``md``/``key_type``: set for certificates of the store (persisted under ocsp/<md>/<key_type>.*),
    None for other certificates (persisted under ocsp/_others/<sha256 of the path>/response.*).
    ``cert_sha256``: the DER sha256 of the certificate in ``cert_path`` when the store vouches for
    it (an active set whose files are the ones activated: Store.damage); a refresh with nothing
    due then does not read the file. ``recorded``: (sha256, OCSP URL) as the active set.json of a
    managed certificate records them, read when the target was made (managed_targets), so that
    the plan does not look the set up again; no vouch: the file is still hashed and compared.
    """

    cert_path: str
    issuer_path: str | None = None
    responder: str | None = None
    staple_file: str | None = None
    haproxy_ocsp_file: str | None = None
    haproxy_socket: str | None = None
    md: str | None = None
    key_type: str | None = None
    cert_sha256: str | None = None
    recorded: tuple | None = None

    FIELDS = {"cert": "cert_path", "cert_path": "cert_path", "chain": "issuer_path", "issuer": "issuer_path",
              "issuer_path": "issuer_path", "responder": "responder", "staple_file": "staple_file",
              "haproxy_ocsp_file": "haproxy_ocsp_file", "haproxy_socket": "haproxy_socket"}

    @classmethod
    def from_dict(cls, data: dict, md: str | None = None, key_type: str | None = None,
                  cert_sha256: str | None = None, recorded: tuple | None = None) -> StapleTarget:
        """From configuration/module options: cert (required), chain or issuer, responder,
        staple_file, haproxy_ocsp_file, haproxy_socket. Unknown keys are a ConfigError."""
        values: dict = {}
        for key, value in data.items():
            if key not in cls.FIELDS:
                raise ConfigError("unknown stapling option %r (known: %s)"
                                  % (key, ", ".join(sorted(cls.FIELDS))))
            if value not in (None, ""):
                values[cls.FIELDS[key]] = value
        if not values.get("cert_path"):
            raise ConfigError("a stapled certificate needs 'cert' (the certificate file)")
        if values.get("responder") and not re.match(r"^https?://", values["responder"]):
            raise ConfigError("OCSP responder %r must be an http:// or https:// URL" % values["responder"])
        return cls(md=md, key_type=key_type, cert_sha256=cert_sha256, recorded=recorded, **values)

    @property
    def managed(self) -> bool:
        return bool(self.md and self.key_type)

    @property
    def name(self) -> str:
        if self.managed:
            return "%s/%s" % (self.md, self.key_type)
        return self.cert_path

    @property
    def others_id(self) -> str:
        """Folder name under ocsp/_others/: stable for a path, whatever certificate it holds."""
        return hashlib.sha256(os.path.abspath(self.cert_path).encode()).hexdigest()[:16]

    def output_files(self) -> list[str]:
        return [p for p in (self.staple_file, self.haproxy_ocsp_file) if p]


__all__ = ["Window", "FetchMethod", "StaplingConfig", "StapleTarget", "OTHERS_DIR"]
