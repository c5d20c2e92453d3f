"""ACME accounts: find or register (with ToS agreement and EAB), reuse per CA, key rollover."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Deadline
from ..errors import ConfigError, MdError, StoreError
from ..fsutil import atomic_write, ensure_dir, read_bytes, write_json
from ..keys import generate_key, key_from_pem, key_to_pem
from ..keytypes import key_spec
from ..options.domain import DEFAULT_ACCOUNT_KEY_TYPE, DEFAULT_EAB_ALG, KEY_TYPES
from ..state.fields import CorruptStateError, obj, opt_str, read_state, req_str, set_aside, str_list
from .jws import AccountKey, eab_binding, sign_request
from .problems import AcmeProblemError
from .resources import AccountRef, Status
from .transport import AcmeTransport

ACCOUNT_KEY_TYPES = KEY_TYPES  # account_key_type's choices in the option table
NEXT_KEY_FILE = "account.key.next.pem"


@dataclass
class AccountOptions:
    contact: tuple[str, ...] = ()
    agree_tos: bool = False
    key_type: str = DEFAULT_ACCOUNT_KEY_TYPE
    eab_kid: str | None = None
    eab_hmac_key: str | None = None  # secret: never logged or returned
    eab_alg: str = DEFAULT_EAB_ALG


def ca_id(directory_url: str, eab_kid: str | None) -> str:
    """Folder name for a CA (+EAB kid): readable host part plus a hash of the exact URL."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", directory_url.split("://", 1)[-1].split("/", 1)[0])
    digest = hashlib.sha256(("%s|%s" % (directory_url, eab_kid or "")).encode()).hexdigest()[:10]
    return "ACME-%s-%s" % (host, digest)


def account_info(doc: object) -> dict:
    what = "account.json"
    doc = obj(doc, what)
    return {"url": req_str(doc, "url", what), "ca_url": req_str(doc, "ca_url", what),
            "contact": str_list(doc, "contact", what), "eab_kid": opt_str(doc, "eab_kid", what),
            "status": req_str(doc, "status", what)}


def read_key(path: str, what: str) -> AccountKey | None:
    """A private key file; a StoreError naming it when it does not read. Never replaced silently:
    an ACME account is bound to its key, which nothing can rebuild."""
    try:
        pem = read_bytes(path)
    except OSError as exc:
        raise StoreError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    if pem is None:
        return None
    try:
        return AccountKey(key_from_pem(pem))
    except Exception as exc:  # whatever the PEM parser makes of garbage (ValueError, TypeError, UnsupportedAlgorithm)
        raise StoreError("%s is corrupt (%s): %s cannot be rebuilt, the ACME account is bound to it; restore it "
                         "from a backup, or move %s away to register a new account"
                         % (path, type(exc).__name__, what, os.path.dirname(path))) from None


class AccountStore:
    """accounts/<ca-id>/account.json and account.key.pem (0600). ``note``: where repairs are told
    (the store's notes, which the run prints)."""

    def __init__(self, root: str, note: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.note = note or (lambda _text: None)

    def folder(self, directory_url: str, eab_kid: str | None) -> str:
        return os.path.join(self.root, ca_id(directory_url, eab_kid))

    def info_path(self, directory_url: str, eab_kid: str | None) -> str:
        return os.path.join(self.folder(directory_url, eab_kid), "account.json")

    def read_info(self, directory_url: str, eab_kid: str | None) -> dict | None:
        """account.json, checked; raises CorruptStateError naming it."""
        return read_state(self.info_path(directory_url, eab_kid), account_info)

    def load(self, directory_url: str, eab_kid: str | None) -> tuple[AccountRef, AccountKey] | None:
        """The valid account and its key, or None. An account.json that does not read is none (a
        locked run rebuilds it from the key: ensure_account); a key that does not read raises."""
        try:
            info = self.read_info(directory_url, eab_kid)
        except CorruptStateError:
            info = None
        key = self.load_key(directory_url, eab_kid)
        if not info or key is None or info["status"] != Status.VALID:
            return None
        return AccountRef(info["url"], info["ca_url"], info["contact"], info["eab_kid"]), key

    def load_key(self, directory_url: str, eab_kid: str | None) -> AccountKey | None:
        return read_key(os.path.join(self.folder(directory_url, eab_kid), "account.key.pem"), "the account key")

    def save_key(self, directory_url: str, eab_kid: str | None, key: AccountKey) -> None:
        folder = ensure_dir(self.folder(directory_url, eab_kid), durable=True)
        atomic_write(os.path.join(folder, "account.key.pem"), key_to_pem(key.key))

    # A key rollover's new key, saved before the CA is asked to switch: a crash after the CA
    # switched but before account.key.pem was replaced must not lose the account.
    def next_key_path(self, directory_url: str, eab_kid: str | None) -> str:
        return os.path.join(self.folder(directory_url, eab_kid), NEXT_KEY_FILE)

    def load_next_key(self, directory_url: str, eab_kid: str | None) -> AccountKey | None:
        return read_key(self.next_key_path(directory_url, eab_kid), "the new key of an interrupted key rollover")

    def save_next_key(self, directory_url: str, eab_kid: str | None, key: AccountKey) -> None:
        ensure_dir(self.folder(directory_url, eab_kid), durable=True)
        atomic_write(self.next_key_path(directory_url, eab_kid), key_to_pem(key.key))

    def drop_next_key(self, directory_url: str, eab_kid: str | None) -> None:
        try:
            os.unlink(self.next_key_path(directory_url, eab_kid))
        except FileNotFoundError:
            pass

    def save(self, ref: AccountRef, status: str = Status.VALID) -> None:
        folder = ensure_dir(self.folder(ref.ca_url, ref.eab_kid), durable=True)
        write_json(os.path.join(folder, "account.json"), {
            "url": ref.url, "ca_url": ref.ca_url, "contact": ref.contact, "eab_kid": ref.eab_kid,
            "status": status,
        })


def ensure_account(transport: AcmeTransport, accounts: AccountStore, options: AccountOptions,
                   deadline: Deadline) -> tuple[AccountRef, AccountKey]:
    """The CA's account from the store, or a new registration (the key is saved before registering,
    so a crash mid-registration finds the same account again with onlyReturnExisting semantics)."""
    url = transport.directory_url
    try:
        accounts.read_info(url, options.eab_kid)
    except CorruptStateError as exc:  # rebuilt below: registering with the same key finds the same account
        aside = set_aside(exc.path, transport.clock)
        accounts.note("%s; set aside as %s, the account is found again with its key"
                      % (exc, os.path.basename(aside)))
    found = accounts.load(url, options.eab_kid)
    if found:
        return finish_rollover(transport, accounts, found[0], found[1], deadline)
    if options.key_type not in ACCOUNT_KEY_TYPES:
        raise ConfigError("account key type must be one of %s" % ", ".join(ACCOUNT_KEY_TYPES))
    key = accounts.load_key(url, options.eab_kid)
    if key is None:
        key = AccountKey(generate_key(key_spec(options.key_type)))
        try:
            accounts.save_key(url, options.eab_kid, key)
        except OSError as exc:
            raise StoreError("cannot write account key: %s" % exc.strerror) from None
    directory = transport.directory(deadline)
    meta = directory.get("meta") or {}
    payload: dict = {"contact": list(options.contact)}
    if meta.get("termsOfService"):
        if not options.agree_tos:
            raise ConfigError("the CA requires agreeing to its terms of service (%s): set agree_tos"
                              % meta["termsOfService"])
        payload["termsOfServiceAgreed"] = True
    if options.eab_kid:
        if not options.eab_hmac_key:
            raise ConfigError("eab_kid is set but eab_hmac_key is missing")
        payload["externalAccountBinding"] = eab_binding(key, options.eab_kid, options.eab_hmac_key,
                                                        directory["newAccount"], options.eab_alg)
    elif meta.get("externalAccountRequired"):
        raise ConfigError("the CA %s requires External Account Binding: set eab_kid and eab_hmac_key" % url)
    resp = transport.post(directory["newAccount"], payload, key, None, deadline, "account registration")
    if not resp.location:
        raise MdError("CA registered the account without telling its URL (no Location header)")
    ref = AccountRef(resp.location, url, list(options.contact), options.eab_kid)
    accounts.save(ref)
    return ref, key


def rollover_key(transport: AcmeTransport, accounts: AccountStore, ref: AccountRef, old: AccountKey,
                 new_key_type: str, deadline: Deadline) -> AccountKey:
    """RFC 8555 7.3.5 key change: inner JWS signed by the new key, outer by the old one. The new
    key is kept beside the old one first, so a crash at any point is finished by finish_rollover."""
    old = finish_rollover(transport, accounts, ref, old, deadline)[1]
    new = AccountKey(generate_key(key_spec(new_key_type)))
    url = transport.directory(deadline)["keyChange"]
    inner = sign_request(new, url, {"account": ref.url, "oldKey": old.public_jwk}, None, None)
    accounts.save_next_key(ref.ca_url, ref.eab_kid, new)
    try:
        transport.post(url, inner, old, ref.url, deadline, "account key rollover")
    except AcmeProblemError:
        accounts.drop_next_key(ref.ca_url, ref.eab_kid)  # the CA refused: the old key stays
        raise
    accounts.save_key(ref.ca_url, ref.eab_kid, new)
    accounts.drop_next_key(ref.ca_url, ref.eab_kid)
    return new


def finish_rollover(transport: AcmeTransport, accounts: AccountStore, ref: AccountRef, key: AccountKey,
                    deadline: Deadline) -> tuple[AccountRef, AccountKey]:
    """An interrupted key rollover left its new key beside the old one: ask the CA which one the
    account has now (a POST-as-GET of the account signed with the new key) and keep that one.
    Without a pending key (the normal case) this reads one missing file and asks nothing."""
    pending = accounts.load_next_key(ref.ca_url, ref.eab_kid)
    if pending is None:
        return ref, key
    try:
        transport.post_as_get(ref.url, pending, ref.url, deadline, "account check after an interrupted key rollover")
    except AcmeProblemError:  # the CA does not know the new key: the rollover never happened
        accounts.drop_next_key(ref.ca_url, ref.eab_kid)
        return ref, key
    accounts.save_key(ref.ca_url, ref.eab_kid, pending)  # the CA switched before the crash
    accounts.drop_next_key(ref.ca_url, ref.eab_kid)
    return ref, pending
