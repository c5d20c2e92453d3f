"""One stapling pass in a process of its own (a "restart"): prints the results as JSON.

Usage: python staple_once.py '{"store": "...", "managed": true, "others": [...], "config": {...}}'
Runs under the venv's python and Debian's /usr/bin/python3 alike.
"""

from __future__ import annotations

import json
import os
import sys

UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "plugins", "module_utils")


def main() -> int:
    sys.path.insert(0, UTILS)  # a fresh process: the engine is found the way the role installs it
    from mdcore.clock import Clock
    from mdcore.ocsp import StaplingConfig, staple_store
    from mdcore.store import Store

    args = json.loads(sys.argv[1])
    clock = Clock()
    results = staple_store(Store(args["store"], clock), clock, managed=args.get("managed", True),
                           others=args.get("others", []), config=StaplingConfig(**args.get("config", {})))
    print(json.dumps([r.to_dict() for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
