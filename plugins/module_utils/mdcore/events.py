"""Event sink interface the renewal flow reports to (mod_md's MDMessageCmd lives behind it)."""

from __future__ import annotations


class EventName:
    RENEWING = "renewing"
    RENEWED = "renewed"
    INSTALLED = "installed"
    EXPIRING = "expiring"
    ERRORED = "errored"
    OCSP_RENEWED = "ocsp-renewed"
    OCSP_ERRORED = "ocsp-errored"
    CHALLENGE_SETUP = "challenge-setup"  # sent as challenge-setup:<type>:<domain>


# A detail key: an event of an emergency (a revoked certificate replaced) is never rate-limited, so a
# routine 'renewed' earlier the same day cannot swallow it.
URGENT = "urgent"


class EventSink:
    """Receives events; ``fire`` returns False when the receiver objects (renewing: postpone)."""

    def fire(self, event: str, md: str, details: dict | None = None) -> bool:
        return True


NO_EVENTS = EventSink()
