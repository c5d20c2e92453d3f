"""A plain-http batch (what a stapling run sends to OCSP responders) loads neither the ssl module
nor net/tls.py: they are imported for the first https origin only (5 ms of the run's serial
start). A fresh interpreter, the one running the tests, talks to a bare socket peer on loopback
(http.server would import ssl itself, through http.client, and tests/peers/slow_peer.py does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UTILS = str(Path(__file__).resolve().parents[3] / "plugins" / "module_utils")

PROBE = r"""
import json, socket, sys, threading
from mdcore.clock import Clock, Deadline
from mdcore.net import HttpClient, HttpReply
from mdcore.net.reply import Request

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
port = listener.getsockname()[1]

def serve():
    for _ in range(3):
        conn, _addr = listener.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.close()

threading.Thread(target=serve, daemon=True).start()
http = HttpClient(trust_env=False)
url = "http://127.0.0.1:%d/ocsp" % port
outcomes = [o for _i, o in http.exchange_all([Request("POST", url, b"\x30\x00"), Request("GET", url)], 2,
                                             lambda: Deadline(Clock(), 10.0))]
single = http.exchange("GET", url, None, Deadline(Clock(), 10.0))
http.close()
print(json.dumps({"ok": [isinstance(o, HttpReply) and o.body == b"ok" for o in outcomes + [single]],
                  "loaded": sorted(m for m in ("ssl", "_ssl", "mdcore.net.tls") if m in sys.modules)}))
"""


def test_plain_http_exchanges_load_no_tls():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=UTILS))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"ok": [True, True, True], "loaded": []}
