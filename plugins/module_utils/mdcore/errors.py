"""The engine's exceptions. Callers catch :class:`MdError` alone; its str() is meant for users."""

from __future__ import annotations


class MdError(Exception):
    """Base of every error the engine raises on purpose. ``retry_hot`` says whether backing off
    briefly makes sense (network, CA load) or whether the input has to change first."""

    retry_hot = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class ConfigError(MdError):
    """Bad input: names, options, configuration files. Not retried until the input changes."""

    retry_hot = False


class NoAccountError(ConfigError):
    """This host uses the fleet's account holder's accounts and has none for a CA yet."""


class StoreError(MdError):
    """The store cannot be read or written, or is locked by another run."""


class StoreLockedError(StoreError):
    """Another run holds the store's lock."""


class NetworkError(MdError):
    """A server could not be reached or did not answer in time."""


class DeadlineExceeded(NetworkError):
    """A wait ran out of time."""


class ChallengeError(MdError):
    """A challenge could not be set up (hook failed, port busy, ...)."""


class OcspError(MdError):
    """An OCSP response could not be fetched or did not verify."""
