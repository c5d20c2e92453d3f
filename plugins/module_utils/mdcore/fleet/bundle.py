"""The fleet bundle: what travels from the issuer (or account holder) to the other hosts.

JSON, UTF-8, one object, versioned:

  {"mdfleet_bundle": 1, "kind": "set", "issuer": "web1", "created": "<iso>", "md": "shop",
   "set": {names, key_types, ca_url, account_url, created, orders, certs{kt: facts}},
   "files": {"p256": {"privkey.pem": "...", "cert.pem": "...", "chain.pem": "...", "fullchain.pem": "..."}}}
  {"mdfleet_bundle": 1, "kind": "account", "issuer": "web1", "created": "<iso>", "ca_url": "...",
   "eab_kid": null, "account": {"url": ..., "contact": [...], "status": "valid"}, "key_pem": "..."}

Parsing is strict (exact keys, types, version) and every failure is a BundleError naming the
place ("files.p256.cert.pem must be a string"), never a traceback. A bundle holds a private key:
no message, repr or exception here ever contains file contents or key text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..acme.resources import Status
from ..clock import from_iso
from ..errors import ConfigError, MdError, StoreError
from ..keytypes import key_spec
from ..store import CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE, KEY_FILE, check_md_name
from .roles import check_host_name

BUNDLE_VERSION = 1
KIND_SET = "set"
KIND_ACCOUNT = "account"
MAX_BUNDLE_BYTES = 1 << 20  # a set of five RSA-4096 certificates with long chains is ~60 KiB
MAX_IMPORT_BYTES = 32 * MAX_BUNDLE_BYTES  # one import of every set a member needs (hundreds of sets)
MAX_BUNDLES = 1000
MAX_FILE_CHARS = 64 * 1024
SET_FILES = (KEY_FILE, CERT_FILE, CHAIN_FILE, FULLCHAIN_FILE)

SET_BUNDLE_KEYS = frozenset({"mdfleet_bundle", "kind", "issuer", "created", "md", "set", "files"})
ACCOUNT_BUNDLE_KEYS = frozenset({"mdfleet_bundle", "kind", "issuer", "created", "ca_url", "eab_kid", "account",
                                 "key_pem"})
# What of the issuer's set.json travels (and nothing else: a member's "imported" never does).
SET_INFO_KEYS = frozenset({"md", "names", "key_types", "ca_url", "account_url", "created", "orders", "certs"})
SET_INFO_REQUIRED = ("names", "key_types", "ca_url", "certs")
ACCOUNT_KEYS = frozenset({"url", "contact", "status"})


class BundleError(MdError):
    """A bundle that cannot be used: malformed, or not for this host. Not retried hot."""

    retry_hot = False


@dataclass(frozen=True, repr=False)
class SetFiles:
    """One key type's four files, as bytes. repr never shows them."""

    privkey: bytes
    cert: bytes
    chain: bytes
    fullchain: bytes

    def as_dict(self) -> dict[str, bytes]:
        return {KEY_FILE: self.privkey, CERT_FILE: self.cert, CHAIN_FILE: self.chain,
                FULLCHAIN_FILE: self.fullchain}

    def __repr__(self) -> str:
        return "SetFiles(<%d bytes, private key hidden>)" % (len(self.cert) + len(self.chain))


@dataclass(repr=False)
class SetBundle:
    issuer: str
    created: str
    md: str
    set_info: dict
    files: dict[str, SetFiles] = field(default_factory=dict)

    @property
    def key_types(self) -> list[str]:
        return list(self.set_info["key_types"])

    def __repr__(self) -> str:
        return "SetBundle(md=%r, issuer=%r, key_types=%r)" % (self.md, self.issuer, self.key_types)


@dataclass(repr=False)
class AccountBundle:
    issuer: str
    created: str
    ca_url: str
    eab_kid: str | None
    account_url: str
    contact: list[str]
    key_pem: bytes

    def __repr__(self) -> str:
        return "AccountBundle(ca_url=%r, account_url=%r, issuer=%r)" % (self.ca_url, self.account_url, self.issuer)


# -- building ---------------------------------------------------------------------------------
def set_bundle(issuer: str, created: str, md: str, set_info: dict, files: dict[str, dict[str, bytes]]) -> bytes:
    doc = {"mdfleet_bundle": BUNDLE_VERSION, "kind": KIND_SET, "issuer": issuer, "created": created, "md": md,
           "set": {k: v for k, v in set_info.items() if k in SET_INFO_KEYS},
           "files": {kt: {name: data.decode("ascii") for name, data in per.items()} for kt, per in files.items()}}
    return _dump(doc)


def account_bundle(issuer: str, created: str, ca_url: str, eab_kid: str | None, account_url: str,
                   contact: list[str], key_pem: bytes) -> bytes:
    doc = {"mdfleet_bundle": BUNDLE_VERSION, "kind": KIND_ACCOUNT, "issuer": issuer, "created": created,
           "ca_url": ca_url, "eab_kid": eab_kid,
           "account": {"url": account_url, "contact": list(contact), "status": Status.VALID},
           "key_pem": key_pem.decode("ascii")}
    return _dump(doc)


def _dump(doc: dict) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


# -- parsing ----------------------------------------------------------------------------------
def parse_bundle(data: bytes) -> SetBundle | AccountBundle:
    """A bundle from bytes (stdin); BundleError naming what is wrong."""
    return bundle_from_doc(_decode(data, MAX_BUNDLE_BYTES, "bundle"))


def is_bundle_list(data: bytes) -> bool:
    """Whether stdin holds a JSON array of bundles (one `mdfleet import` for all a member needs)."""
    return bytes(data[:64]).lstrip()[:1] == b"["


def parse_bundles(data: bytes) -> list[SetBundle | AccountBundle | BundleError]:
    """Several bundles from a JSON array, in its order. Each is parsed alone: a bad one comes back as
    its BundleError (named by its place) and does not hide the others; a bad array raises."""
    docs = _decode(data, MAX_IMPORT_BYTES, "bundle list")
    if not isinstance(docs, list):
        raise BundleError("bundle list is not a JSON array")
    if not docs:
        raise BundleError("bundle list is empty: nothing to import")
    if len(docs) > MAX_BUNDLES:
        raise BundleError("bundle list holds %d bundles, more than %d" % (len(docs), MAX_BUNDLES))
    parsed: list[SetBundle | AccountBundle | BundleError] = []
    for place, doc in enumerate(docs, 1):
        try:
            parsed.append(bundle_from_doc(doc))
        except BundleError as exc:
            parsed.append(BundleError("bundle %d of %d: %s" % (place, len(docs), exc)))
    return parsed


def _decode(data: bytes, limit: int, what: str):
    if not isinstance(data, (bytes, bytearray)):
        raise BundleError("%s must be bytes" % what)
    if len(data) > limit:
        raise BundleError("%s is larger than %d bytes: not an mdfleet %s" % (what, limit, what))
    if not data.strip():
        raise BundleError("no %s on stdin (empty input)" % what)
    try:
        return json.loads(bytes(data).decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BundleError("%s is not UTF-8 text" % what) from None
    except json.JSONDecodeError as exc:  # its message names the position only, never the text
        raise BundleError("%s is not valid JSON: %s at line %d column %d" % (what, exc.msg, exc.lineno, exc.colno)) \
            from None
    except (ValueError, RecursionError):
        raise BundleError("%s is not valid JSON (nested too deeply or a bad number)" % what) from None


def bundle_from_doc(doc: object) -> SetBundle | AccountBundle:
    """One bundle from its decoded JSON document; BundleError naming what is wrong."""
    if not isinstance(doc, dict) or "mdfleet_bundle" not in doc:
        raise BundleError("not an mdfleet bundle (no mdfleet_bundle version)")
    version = doc["mdfleet_bundle"]
    if not _is_int(version):
        raise BundleError("mdfleet_bundle (the bundle version) must be an integer")
    if version != BUNDLE_VERSION:
        raise BundleError("bundle version %d is not supported (this engine reads version %d): update the engine "
                          "on both hosts" % (version, BUNDLE_VERSION))
    kind = doc.get("kind")
    if kind == KIND_SET:
        return _parse_set(doc)
    if kind == KIND_ACCOUNT:
        return _parse_account(doc)
    raise BundleError("kind must be %r or %r" % (KIND_SET, KIND_ACCOUNT))


def _no_constant(name: str):
    raise ValueError("%s is not JSON" % name)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _exact_keys(doc: dict, keys: frozenset, where: str, required: tuple | frozenset | None = None) -> None:
    missing = sorted(set(keys if required is None else required) - set(doc))
    if missing:
        raise BundleError("%s lacks %s" % (where, ", ".join(missing)))
    extra = sorted(str(k)[:40] for k in set(doc) - keys)
    if extra:
        raise BundleError("%s has unknown key%s %s" % (where, "s" if len(extra) > 1 else "", ", ".join(extra)))


def _string(value: object, where: str, limit: int = 2048) -> str:
    if not isinstance(value, str) or not value:
        raise BundleError("%s must be a non-empty string" % where)
    if len(value) > limit:
        raise BundleError("%s is longer than %d characters" % (where, limit))
    return value


def _string_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list):
        raise BundleError("%s must be a list of strings" % where)
    return [_string(v, "%s[%d]" % (where, i)) for i, v in enumerate(value)]


def _url(value: object, where: str) -> str:
    text = _string(value, where)
    if not text.startswith(("https://", "http://")):
        raise BundleError("%s must be an http(s) URL" % where)
    return text


def _header(doc: dict) -> tuple[str, str]:
    try:
        issuer = check_host_name(doc["issuer"], "issuer")
    except ConfigError as exc:
        raise BundleError("bundle %s" % exc) from None
    created = _string(doc["created"], "created", 64)
    try:
        if from_iso(created) is None:
            raise ValueError
    except ValueError:
        raise BundleError("created must be an ISO 8601 time") from None
    return issuer, created


def _parse_set(doc: dict) -> SetBundle:
    _exact_keys(doc, SET_BUNDLE_KEYS, "set bundle")
    issuer, created = _header(doc)
    try:
        md = check_md_name(doc["md"] if isinstance(doc["md"], str) else "")
    except StoreError:
        raise BundleError("md must be a managed domain name") from None
    info = doc["set"]
    if not isinstance(info, dict):
        raise BundleError("set must be an object (the issuer's set.json)")
    _exact_keys(info, SET_INFO_KEYS, "set", SET_INFO_REQUIRED)
    if "md" in info and info["md"] != md:
        raise BundleError("set.md differs from md")
    names = _string_list(info["names"], "set.names")
    key_types = _string_list(info["key_types"], "set.key_types")
    if not names or not key_types:
        raise BundleError("set.names and set.key_types must not be empty")
    for index, kt in enumerate(key_types):
        try:
            if key_spec(kt).name != kt:
                raise ConfigError("not canonical")
        except ConfigError:
            raise BundleError("set.key_types[%d] is not a key type of this engine" % index) from None
    if len(set(key_types)) != len(key_types):
        raise BundleError("set.key_types lists a key type twice")
    _url(info["ca_url"], "set.ca_url")
    if info.get("account_url") is not None:
        _url(info["account_url"], "set.account_url")
    if info.get("created") is not None:
        _string(info["created"], "set.created", 64)
    orders = info.get("orders", {})
    if not isinstance(orders, dict) or not all(isinstance(v, str) for v in orders.values()):
        raise BundleError("set.orders must map key types to order URLs")
    certs = info["certs"]
    if not isinstance(certs, dict) or sorted(certs) != sorted(key_types):
        raise BundleError("set.certs must hold the facts of exactly the key types of set.key_types")
    for kt in key_types:
        facts = certs[kt]
        if not isinstance(facts, dict):
            raise BundleError("set.certs.%s must be an object" % kt)
        for key in ("serial", "sha256_fingerprint"):
            _string(facts.get(key), "set.certs.%s.%s" % (kt, key), 256)
    return SetBundle(issuer, created, md, dict(info), _parse_files(doc["files"], key_types))


def _parse_files(files: object, key_types: list[str]) -> dict[str, SetFiles]:
    if not isinstance(files, dict):
        raise BundleError("files must be an object (key type -> its four PEM files)")
    if sorted(files) != sorted(key_types):
        raise BundleError("files must hold exactly the key types of set.key_types (%s)" % ", ".join(key_types))
    out = {}
    for kt in key_types:
        per = files[kt]
        if not isinstance(per, dict):
            raise BundleError("files.%s must be an object" % kt)
        _exact_keys(per, frozenset(SET_FILES), "files.%s" % kt)
        texts = [_pem_text(per[name], "files.%s.%s" % (kt, name)) for name in SET_FILES]
        out[kt] = SetFiles(*texts)
    return out


def _pem_text(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise BundleError("%s must be a non-empty string (PEM)" % where)
    if len(value) > MAX_FILE_CHARS:
        raise BundleError("%s is larger than %d characters" % (where, MAX_FILE_CHARS))
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        raise BundleError("%s is not PEM (non-ASCII characters)" % where) from None


def _parse_account(doc: dict) -> AccountBundle:
    _exact_keys(doc, ACCOUNT_BUNDLE_KEYS, "account bundle")
    issuer, created = _header(doc)
    ca_url = _url(doc["ca_url"], "ca_url")
    kid = doc["eab_kid"]
    if kid is not None:
        kid = _string(kid, "eab_kid", 512)
    account = doc["account"]
    if not isinstance(account, dict):
        raise BundleError("account must be an object")
    _exact_keys(account, ACCOUNT_KEYS, "account")
    url = _url(account["url"], "account.url")
    contact = _string_list(account["contact"], "account.contact")
    if account["status"] != Status.VALID:
        raise BundleError("account.status must be %r: only valid accounts travel" % Status.VALID)
    key_pem = _pem_text(doc["key_pem"], "key_pem")
    return AccountBundle(issuer, created, ca_url, kid, url, contact, key_pem)


__all__ = ["BundleError", "SetBundle", "SetFiles", "AccountBundle", "parse_bundle", "parse_bundles", "is_bundle_list",
           "bundle_from_doc", "set_bundle", "account_bundle", "BUNDLE_VERSION", "KIND_SET", "KIND_ACCOUNT",
           "MAX_BUNDLE_BYTES", "MAX_IMPORT_BYTES", "MAX_BUNDLES", "SET_FILES"]
