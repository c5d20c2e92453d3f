"""Accounts shared by the parallel orders of a run: one registration per CA at a time, the
account read from the store once, and nothing held across network calls that other CAs wait for.

Orders for domains of one CA that need its account while it is being registered (or loaded)
wait for that one attempt and share its outcome, also a failure: a CA that never answers costs
the run one request deadline, not one per domain in a row. Domains of other CAs never wait.
A loaded account is reused while its files in the store are unchanged (a key rollover or an
imported account replaces them, and the next use reads them again).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..clock import Deadline
from ..errors import DeadlineExceeded
from .account import NEXT_KEY_FILE, AccountOptions, AccountStore, ensure_account
from .jws import AccountKey
from .resources import AccountRef
from .transport import AcmeTransport

Account = tuple[AccountRef, AccountKey]
_FILES = ("account.json", "account.key.pem", NEXT_KEY_FILE)


class _Attempt:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Account | None = None
        self.error: BaseException | None = None


def _signature(folder: str) -> tuple:
    """Identity of the account's files: any replacement (atomic rename) changes it."""
    out = []
    for name in _FILES:
        try:
            st = os.stat(os.path.join(folder, name))
        except OSError:
            out.append(None)
            continue
        out.append((st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


class AccountGate:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._attempts: dict[str, _Attempt] = {}
        self._known: dict[str, tuple[tuple, Account]] = {}
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def exclusive(self, folder: str) -> Iterator[None]:
        """Held while an account of one CA is registered or its key rolled over (nothing else)."""
        with self._guard:
            lock = self._locks.setdefault(folder, threading.Lock())
        with lock:
            yield
        with self._guard:
            self._known.pop(folder, None)  # whatever happened inside, read the files again

    def ensure(self, transport: AcmeTransport, accounts: AccountStore, options: AccountOptions,
               deadline: Deadline) -> Account:
        """ensure_account, once per CA at a time; every other caller for that CA waits for it."""
        folder = accounts.folder(transport.directory_url, options.eab_kid)
        with self._guard:
            signature = _signature(folder)
            known = self._known.get(folder)
            if known is not None and known[0] == signature:
                return known[1]
            attempt = self._attempts.get(folder)
            leading = attempt is None
            if leading:
                attempt = self._attempts[folder] = _Attempt()
        if not leading:
            return self._wait(attempt, transport, deadline)
        try:
            with self._guard:
                lock = self._locks.setdefault(folder, threading.Lock())
            with lock:
                attempt.result = ensure_account(transport, accounts, options, deadline)
            with self._guard:
                self._known[folder] = (_signature(folder), attempt.result)
            return attempt.result
        except BaseException as exc:
            attempt.error = exc
            raise
        finally:
            with self._guard:
                self._attempts.pop(folder, None)
            attempt.done.set()

    @staticmethod
    def _wait(attempt: _Attempt, transport: AcmeTransport, deadline: Deadline) -> Account:
        if not attempt.done.wait(deadline.remaining()):
            raise DeadlineExceeded("the order's deadline passed while the account at %s was being set up"
                                   % transport.directory_url)
        if attempt.error is not None:
            raise attempt.error  # the same outcome for every order that waited for this attempt
        if attempt.result is None:  # the leader ended without either (cannot happen; be loud)
            raise DeadlineExceeded("the account at %s was not set up" % transport.directory_url)
        return attempt.result


# The process's one gate: the engine runs one store per process (the CLI, a module).
ACCOUNTS = AccountGate()

__all__ = ["AccountGate", "ACCOUNTS"]
