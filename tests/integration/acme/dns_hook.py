"""dns-01 hook used by the tests: `dns_hook.py <challtestsrv-url> <mode> setup|teardown <domain> <txt>`.

mode: "ok" sets/clears the TXT record in challtestsrv; "fail" exits 3; "kill-parent" kills the
engine process with SIGKILL (a crash mid-renewal); "fail-if:<file>" fails while <file> exists.
"""

import json
import os
import signal
import sys
import urllib.request


def main() -> int:
    url, mode, action, domain, txt = sys.argv[1:6]
    if mode == "fail":
        print("hook refuses %s" % domain, file=sys.stderr)
        return 3
    if mode.startswith("fail-if:") and os.path.exists(mode[8:]):
        print("hook told to fail by marker", file=sys.stderr)
        return 4
    if mode == "kill-parent" and action == "setup":
        os.kill(os.getppid(), signal.SIGKILL)
        return 0
    host = "_acme-challenge.%s." % domain
    path, body = ("/set-txt", {"host": host, "value": txt}) if action == "setup" else ("/clear-txt", {"host": host})
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        resp.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
