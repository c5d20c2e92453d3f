#!/usr/bin/env bash
# `make demo`: the whole story on one machine, in one command (root, Debian 12).
#
#   1. installs what it needs (scripts/install-deps.sh: apt packages and .venv), then re-runs
#      itself in a private network namespace with only `lo` (unshare -n): nothing here can
#      reach, or be reached from, anything but this namespace's 127.0.0.1;
#   2. starts pebble + challtestsrv (python3 -m peers.stack), an `openssl ocsp` responder signing
#      with pebble's intermediate key (pebble's ocspResponderURL points at it), and nginx;
#   3. applies playbooks/deploy.yml (the managed_domains role) to this machine with a demo prefix:
#      engine, mdfleet command, config, store, nginx glue all under demo-out/ (no systemd unit:
#      the demo runs `mdfleet drive` itself where the timer would);
#   4. the first run obtains the certificate during the play; the message command (mod_md's
#      MDMessageCmd) plays the CA's part and publishes it to the OCSP responder's index; the
#      engine staples it; nginx serves certificate and staple (`openssl s_client -status`);
#   5. runs the playbook again (changes nothing) and `mdfleet drive` (nothing due), prints
#      `mdfleet status` and where the HTML page is.
#
# Output and state: demo-out/ (removed at the start of each run). MDFLEET_DEMO_DIR overrides it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO="${MDFLEET_DEMO_DIR:-$ROOT/demo-out}"
NAME=www.demo.mdfleet.test
ALIAS=demo.mdfleet.test
OCSP_PORT=8888

say() { printf '\n\033[1m== %s\033[0m (%ds)\n' "$*" "$SECONDS"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- 1. outside the namespace: dependencies, then re-run inside it ------------------------------
if [[ -z "${MDFLEET_DEMO_NETNS:-}" ]]; then
  [[ "$(id -u)" == 0 ]] || die "run as root (apt packages, a network namespace, nginx on port 443)"
  say "Installing dependencies (scripts/install-deps.sh apt + venv)"
  bash "$ROOT/scripts/install-deps.sh" apt
  bash "$ROOT/scripts/install-deps.sh" venv
  say "Entering a private network namespace (unshare -n): only lo, 127.0.0.1"
  exec unshare --net env MDFLEET_DEMO_NETNS=1 SECONDS="$SECONDS" bash "${BASH_SOURCE[0]}" "$@"
fi

ip link set lo up
[[ "$(ip -o link | awk -F': ' '{print $2}')" == lo ]] || die "not in a private network namespace"
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
PY=/usr/bin/python3  # the host's python, as on a Debian 12 web server

rm -rf --one-file-system "$DEMO"
mkdir -p "$DEMO"/{acme,nginx/conf.d,ocsp,www,bin,collections/ansible_collections/mdfleet}
chmod 0755 "$DEMO"
ln -s "$ROOT" "$DEMO/collections/ansible_collections/mdfleet/md"  # the collection from this checkout

pids=()
cleanup() {
  local rc=$?
  if [[ -f "$DEMO/nginx/nginx.pid" ]]; then
    nginx -p "$DEMO/nginx/" -c "$DEMO/nginx/nginx.conf" -s quit 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  (cd "$ROOT/tests" && "$PY" -m peers.stack stop --dir "$DEMO/acme" >/dev/null 2>&1) || true
  exit "$rc"
}
trap cleanup EXIT

# --- 2. the peers: ACME CA, DNS, OCSP responder, web server -------------------------------------
say "Starting pebble and challtestsrv (every name resolves to 127.0.0.1)"
(cd "$ROOT/tests" && "$PY" -m peers.stack start --dir "$DEMO/acme" --http-port 80 --ocsp "$OCSP_PORT" --ttl 1800) \
  >"$DEMO/acme/stack.out" 2>&1 || { cat "$DEMO/acme/stack.out" "$DEMO/acme/stack.log" 2>/dev/null; die "ACME stack"; }
stack() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DEMO/acme/stack.json" "$1"; }
INTER="$(stack intermediate_file)"; INTER_KEY="$(stack intermediate_key_file)"; ROOTS="$(stack roots_file)"
echo "ACME directory $(stack directory_url)"

say "Starting openssl ocsp on 127.0.0.1:$OCSP_PORT (signs as pebble's intermediate)"
: >"$DEMO/ocsp/index.txt"
echo "unique_subject = no" >"$DEMO/ocsp/index.txt.attr"
openssl ocsp -index "$DEMO/ocsp/index.txt" -port "$OCSP_PORT" -rsigner "$INTER" -rkey "$INTER_KEY" \
  -CA "$INTER" -nmin 240 -ignore_err >"$DEMO/ocsp/responder.log" 2>&1 &
pids+=($!)
ocsp_poke() {  # one request: openssl re-reads a replaced index.txt only right after answering one
  timeout 5 openssl ocsp -issuer "$INTER" -serial 0x1 -url "http://127.0.0.1:$OCSP_PORT/" -noverify >/dev/null 2>&1
}
for _ in $(seq 100); do ocsp_poke && break; sleep 0.1; done
ocsp_poke || die "openssl ocsp does not answer (see $DEMO/ocsp/responder.log)"

# The CA's part, run by the engine as its message command (`<cmd> <event> <md>`): log every
# event, and on renewed/installed publish the store's certificates to the responder's index.
cat >"$DEMO/bin/events" <<EOF
#!/usr/bin/env bash
set -euo pipefail
echo "\$(date -u +%H:%M:%S) event \$1 \$2" >>"$DEMO/events.log"
case "\$1" in renewed|installed) ;; *) exit 0 ;; esac
tmp="$DEMO/ocsp/index.txt.new"; : >"\$tmp"
for cert in "$DEMO"/store/archive/*/*/cert.pem; do
  [[ -f "\$cert" ]] || continue
  end="\$(date -u -d "\$(openssl x509 -in "\$cert" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)"
  serial="\$(openssl x509 -in "\$cert" -noout -serial | cut -d= -f2)"
  subject="\$(openssl x509 -in "\$cert" -noout -subject -nameopt compat | sed 's/^subject=//')"
  printf 'V\t%s\t\t%s\tunknown\t%s\n' "\$end" "\$serial" "\$subject" >>"\$tmp"
done
mv "\$tmp" "$DEMO/ocsp/index.txt"
timeout 5 openssl ocsp -issuer "$INTER" -serial 0x1 -url "http://127.0.0.1:$OCSP_PORT/" -noverify >/dev/null 2>&1 || true
EOF
chmod 0755 "$DEMO/bin/events"

say "Starting nginx (its own prefix in $DEMO/nginx; sites come from the role)"
echo "mdfleet demo: served by nginx with a certificate from pebble" >"$DEMO/www/index.html"
# nginx's workers (user nobody) serve the http-01 tokens and the page from $DEMO. In a checkout
# below a folder only root may enter (/root, a mktemp -d folder: mode 0700) they would answer 403
# and the CA's validation would fail, so there they run as root: this nginx listens only inside the
# demo's own network namespace.
WORKERS_AS=""  # nginx's default: nobody
if ! runuser -u nobody -- test -r "$DEMO/www/index.html" 2>/dev/null; then
  WORKERS_AS="user root root;"
  echo "demo: $DEMO is not readable by user nobody (a parent folder is private): nginx's workers run as root"
fi
cat >"$DEMO/nginx/nginx.conf" <<EOF
$WORKERS_AS
pid $DEMO/nginx/nginx.pid;
error_log $DEMO/nginx/error.log notice;
events { worker_connections 256; }
http {
    access_log $DEMO/nginx/access.log;
    default_type application/octet-stream;
    include $DEMO/nginx/conf.d/*.conf;
}
EOF
NGINX=(nginx -p "$DEMO/nginx/" -c "$DEMO/nginx/nginx.conf")
"${NGINX[@]}" 2>/dev/null

# --- 3. the playbook ----------------------------------------------------------------------------
cat >"$DEMO/inventory.yml" <<EOF
# The demo host: this machine, with every path of the role under $DEMO.
webservers:
  hosts:
    demo:
      ansible_connection: local
      ansible_python_interpreter: $PY
  vars:
    managed_domains_store: $DEMO/store
    managed_domains_challenges_dir: $DEMO/challenges
    managed_domains_config_file: $DEMO/etc/config.json
    managed_domains_lib_dir: $DEMO/lib
    managed_domains_bin: $DEMO/bin/mdfleet
    managed_domains_systemd: false          # no timer: the demo runs mdfleet drive itself
    managed_domains_webserver_install: false
    managed_domains_webserver_service: ""   # nginx runs with the demo's own config
    managed_domains_webserver_test_command: [$(printf '"%s", ' "${NGINX[@]}")"-t", "-q"]
    managed_domains_webserver_reload_command: [$(printf '"%s", ' "${NGINX[@]}")"-s", "reload"]
    managed_domains_nginx_conf_dir: $DEMO/nginx/conf.d
    managed_domains_nginx_dir: $DEMO/nginx/mdfleet
    managed_domains_listen_addresses: [127.0.0.1]
    managed_domains_message_cmd: [$DEMO/bin/events]
    managed_domains_defaults:
      acme_directory: $(stack directory_url)
      ca_bundle: $(stack ca_bundle)
      agree_tos: true
      contact: [mailto:hostmaster@demo.mdfleet.test]
    managed_domains_domains:
      - domains: [$NAME, $ALIAS]
        site: {root: $DEMO/www}
EOF
export ANSIBLE_COLLECTIONS_PATH="$DEMO/collections" ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
say "ansible-playbook playbooks/deploy.yml (first run: installs, configures, obtains the certificate)"
ansible-playbook -i "$DEMO/inventory.yml" "$ROOT/playbooks/deploy.yml" | tee "$DEMO/deploy-1.log" | grep -E '^(PLAY|TASK|changed|fatal|failed)|ok=' || true
grep -q 'failed=0' "$DEMO/deploy-1.log" || die "deploy failed: $DEMO/deploy-1.log"

MDFLEET=("$DEMO/bin/mdfleet" --config "$DEMO/etc/config.json")
# The first staple comes with the certificate (the message command published it to the responder
# before the engine stapled); should a slow responder have missed it, this drive fetches it.
if ! grep -q 'ssl_stapling_file' "$DEMO/nginx/mdfleet/stapling/$NAME.conf" 2>/dev/null; then
  say "mdfleet staple (the responder knows the certificate now)"
  "${MDFLEET[@]}" staple || true
fi

# --- 4. what a client sees ----------------------------------------------------------------------
say "openssl s_client -status -connect 127.0.0.1:443 -servername $NAME (verified against pebble's root)"
out="$(openssl s_client -connect 127.0.0.1:443 -servername "$NAME" -CAfile "$ROOTS" -verify_return_error -status \
        </dev/null 2>&1 || true)"
printf '%s\n' "$out" >"$DEMO/s_client.txt"
printf '%s\n' "$out" | grep -E '^(subject|issuer)=|Verify return code|OCSP Response Status|Cert Status|This Update|Next Update' \
  | sed 's/^ */  /' | sort -u
grep -q 'Verify return code: 0 (ok)' <<<"$out" || die "certificate not verified: $DEMO/s_client.txt"
grep -q 'Cert Status: good' <<<"$out" || die "no good staple served: $DEMO/s_client.txt"

# --- 5. again: nothing to change, nothing due ---------------------------------------------------
say "ansible-playbook playbooks/deploy.yml again (idempotent: changes nothing)"
ansible-playbook -i "$DEMO/inventory.yml" "$ROOT/playbooks/deploy.yml" >"$DEMO/deploy-2.log"
grep -E 'ok=' "$DEMO/deploy-2.log"
grep -q 'changed=0.*failed=0' "$DEMO/deploy-2.log" || die "second run changed something: $DEMO/deploy-2.log"

say "mdfleet drive (what the timer runs: nothing is due)"
"${MDFLEET[@]}" drive

say "mdfleet status"
"${MDFLEET[@]}" status --json >"$DEMO/md-status.json"
"$PY" - "$DEMO/md-status.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for md in doc.get("managed-domains", []):
    print("  %-24s state %-10s renew-at %s" % (md.get("name"), md.get("state-descr") or md.get("state"), md.get("renew-at")))
    for kt, cert in (md.get("cert") or {}).items():
        if isinstance(cert, dict) and "serial" in cert:
            ocsp = cert.get("ocsp") or {}
            print("    %-8s serial %s valid until %s, ocsp %s (valid until %s)" % (
                kt, cert["serial"], (cert.get("valid") or {}).get("until"), ocsp.get("status"),
                (ocsp.get("valid") or {}).get("until")))
PY
cp "$DEMO/store/status/index.html" "$DEMO/status.html"
echo "  events (message command): $(tr '\n' ';' <"$DEMO/events.log" 2>/dev/null)"
echo "  JSON: $DEMO/md-status.json"
echo "  HTML page: $DEMO/store/status/index.html (copy: $DEMO/status.html)"
say "Done: certificate issued, stapled and served; the host renews and staples on its own"
