"""Launchers for real test peers (pebble, challtestsrv, nginx) on loopback.

Only stdlib + cryptography (>= 38) + requests: the same helpers run under the venv and under
Debian 12's /usr/bin/python3 with its python3-* packages.
"""

from .errors import PeerError
from .ports import free_port
from .process import Peer

__all__ = ["Peer", "PeerError", "free_port"]
