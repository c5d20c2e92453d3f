# Copyright: (c) 2026, mdfleet.md contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mdfleet-webglue: write what a web server needs from the mdfleet store, then test its config.

Installed by the mdfleet.md.managed_domains role. The engine runs it as its reload test command
(before `systemctl reload ...`, which only happens when this exits 0), and so does the role.

  nginx:   <stapling_dir>/<md>.conf, included by the TLS server of <md>: `ssl_stapling on;` and
           `ssl_stapling_file` when the engine's staple (<ocsp_dir>/<md>.<keytype>.der) is good and
           for the active certificate, else a comment. nginx reads ssl_stapling_file only at
           (re)load, hence the include: a staple that appears later needs no playbook run. nginx
           applies one staple file to every certificate of a server, so a domain with several key
           types is served without a staple rather than with a wrong one.
  haproxy: <cert_dir>/<md>.<keytype>.pem (full chain + key, 0600: haproxy 2.6 wants them in one
           file) and <cert_dir>/<md>.<keytype>.pem.ocsp (from the engine's <fullchain>.ocsp) for
           every active certificate of the store; files of domains no longer in the store go.

Files are replaced atomically and only when their content changes. `sync` then runs the web
server's own config test (test_command of the config) and exits with its exit code; `sync
--no-test` only writes. Prints a JSON line {"changed": [...paths]} first.

`reload` runs the reload command and, for haproxy with a stats socket, waits until the new worker
serves every certificate file (`show ssl cert <file>` gives the file's serial): `systemctl reload
haproxy` returns before that, and a runtime API update sent meanwhile (`set ssl ocsp-response`)
would reach the old worker, which does not know the new certificate.

It lives beside the engine (<lib_dir>/mdcore) and uses the engine's store and atomic writes.
"""

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import time

try:
    from cryptography import x509
    from cryptography.x509 import ocsp
except ImportError:  # the staple check then keeps staples out (never serves an unchecked one)
    x509 = ocsp = None

# The engine is installed beside this helper (<lib_dir>/mdcore): one store reader, one atomic write.
ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
MANAGED_MARK = "# written by mdfleet-webglue"


def engine():
    """The engine's modules (imported on first use, from beside this helper)."""
    if ENGINE_DIR not in sys.path:
        sys.path.insert(0, ENGINE_DIR)
    from mdcore import fsutil, store

    return fsutil, store


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def write_if_changed(path, data, mode, changed):
    """The engine's atomic write, skipped when content and mode are already right."""
    try:
        if read(path) == data and (os.stat(path).st_mode & 0o777) == mode:
            return
    except OSError:
        pass
    engine()[0].atomic_write(path, data, mode)
    changed.append(path)


def remove(path, changed):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    changed.append(path)


def active_sets(store):
    """{md: [key types]} of the store's active sets."""
    engine_store = engine()[1].Store(store)
    out = {}
    for md in engine_store.managed_names():
        info = engine_store.active_set(md) or {}
        out[md] = [kt for kt in info.get("key_types", []) if isinstance(kt, str) and "/" not in kt]
    return out


def staple_matches(der_path, cert_path):
    """Whether der_path holds a successful, unexpired OCSP response for the certificate."""
    if ocsp is None:
        return False
    try:
        response = ocsp.load_der_ocsp_response(read(der_path))
        cert = x509.load_pem_x509_certificate(read(cert_path))
    except (OSError, ValueError):
        return False
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return False
    if response.serial_number != cert.serial_number:
        return False
    next_update = getattr(response, "next_update_utc", None)  # cryptography >= 43
    if next_update is None and response.next_update is not None:
        next_update = response.next_update.replace(tzinfo=datetime.timezone.utc)  # naive UTC before
    return next_update is None or next_update > datetime.datetime.now(datetime.timezone.utc)


def glue_nginx(cfg, sets, changed):
    conf = cfg.get("nginx") or {}
    stapling_dir, ocsp_dir = conf["stapling_dir"], conf["ocsp_dir"]
    for md, key_types in sets.items():
        text = MANAGED_MARK + " from %s/domains/%s\n" % (cfg["store"], md)
        if len(key_types) == 1:
            der = os.path.join(ocsp_dir, "%s.%s.der" % (md, key_types[0]))
            cert = os.path.join(cfg["store"], "domains", md, key_types[0], "cert.pem")
            if staple_matches(der, cert):
                text += "ssl_stapling on;\nssl_stapling_file %s;\n" % der
            else:
                text += "# no good OCSP staple for the active certificate (yet)\n"
        else:
            text += "# %d key types: nginx would send one staple for all of them, so none is sent\n" % len(key_types)
        write_if_changed(os.path.join(stapling_dir, md + ".conf"), text.encode(), 0o644, changed)


def glue_haproxy(cfg, sets, changed):
    cert_dir = (cfg.get("haproxy") or {})["cert_dir"]
    wanted = set()
    for md, key_types in sets.items():
        for kt in key_types:
            folder = os.path.join(cfg["store"], "domains", md, kt)
            pem = os.path.join(cert_dir, "%s.%s.pem" % (md, kt))
            try:
                data = read(os.path.join(folder, "fullchain.pem")) + read(os.path.join(folder, "privkey.pem"))
            except OSError:
                continue
            wanted.update({os.path.basename(pem), os.path.basename(pem) + ".ocsp"})
            write_if_changed(pem, data, 0o600, changed)
            staple = os.path.join(folder, "fullchain.pem.ocsp")
            if staple_matches(staple, os.path.join(folder, "cert.pem")):
                write_if_changed(pem + ".ocsp", read(staple), 0o600, changed)
            else:
                remove(pem + ".ocsp", changed)
    for entry in sorted(os.listdir(cert_dir)):
        if entry.endswith((".pem", ".pem.ocsp")) and entry not in wanted:
            remove(os.path.join(cert_dir, entry), changed)


def haproxy_cli(address, command, timeout):
    """One command on haproxy's stats socket; its answer (empty when it cannot be reached)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(command.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks).decode("utf-8", "replace")
                chunks.append(chunk)
    except OSError:
        return ""


def served_serial(text):
    """The serial in haproxy's `show ssl cert <file>` answer, as an int (None if not there)."""
    for line in text.splitlines():
        if line.startswith("Serial:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return None
    return None


def haproxy_wait(cfg, timeout):
    """Wait until haproxy serves the serial of every crt file; returns the files still missing."""
    conf = cfg.get("haproxy") or {}
    address, cert_dir = conf.get("socket"), conf["cert_dir"]
    if not address or x509 is None:
        return []
    wanted = {}
    for entry in sorted(os.listdir(cert_dir)):
        if entry.endswith(".pem"):
            try:
                cert = x509.load_pem_x509_certificate(read(os.path.join(cert_dir, entry)))
            except (OSError, ValueError):
                continue
            wanted[os.path.join(cert_dir, entry)] = cert.serial_number
    deadline = time.monotonic() + timeout
    while True:
        missing = [path for path, serial in wanted.items()
                   if served_serial(haproxy_cli(address, "show ssl cert " + path, 2.0)) != serial]
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(0.2)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="mdfleet-webglue", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, help="the glue config (JSON) the role writes")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="write the web server's files, then run its config test")
    sync.add_argument("--no-test", action="store_true", help="only write the files")
    reload = sub.add_parser("reload", help="run the reload command, wait until the server serves the new files")
    reload.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as handle:
        cfg = json.load(handle)
    if args.command == "reload":
        code = subprocess.run(cfg["reload_command"], stdin=subprocess.DEVNULL, check=False).returncode
        if code != 0 or cfg.get("server") != "haproxy":
            return code
        missing = haproxy_wait(cfg, args.timeout)
        if missing:
            sys.stderr.write("mdfleet-webglue: haproxy does not serve %s after %gs\n"
                             % (", ".join(missing), args.timeout))
            return 1
        return 0
    changed = []
    sets = active_sets(cfg["store"])
    if cfg.get("server") == "nginx":
        glue_nginx(cfg, sets, changed)
    elif cfg.get("server") == "haproxy":
        glue_haproxy(cfg, sets, changed)
    sys.stdout.write(json.dumps({"changed": changed}) + "\n")
    sys.stdout.flush()
    if args.no_test or not cfg.get("test_command"):
        return 0
    return subprocess.run(cfg["test_command"], stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
