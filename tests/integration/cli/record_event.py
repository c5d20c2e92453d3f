"""Message command for the tests: appends one JSON line {argv, env MDFLEET_*} to the file in argv[1]."""

import json
import os
import sys

with open(sys.argv[1], "a") as log:
    env = {k: v for k, v in os.environ.items() if k.startswith("MDFLEET_")}
    log.write(json.dumps({"argv": sys.argv[2:], "env": env}) + "\n")
