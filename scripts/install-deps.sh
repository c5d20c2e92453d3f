#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian 12 machine (run as root, no TTY needed):
# the Debian packages of the real test peers, the host-side Python of the role's target
# (python3-cryptography 38 & co.), podman's settings for molecule, and .venv from
# requirements-dev.txt. Idempotent: a second run installs nothing and skips pip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export DEBIAN_FRONTEND=noninteractive

# Grouped by who needs them, so a removal later is easy to reason about.
APT_PACKAGES=(
  # ACME CA and its mock DNS; web servers the role configures; OCSP responder (openssl ocsp)
  pebble nginx-light haproxy apache2 openssl ca-certificates
  # molecule hosts: podman with runc (crun fails here), rootfs built by debootstrap
  podman runc uidmap slirp4netns fuse-overlayfs containernetworking-plugins debootstrap
  # the role's target Python: what Debian 12 hosts have (engine tests run under it too)
  python3 python3-venv python3-cryptography python3-josepy python3-requests python3-pytest python3-pytest-timeout
  # property-based tests (they run under the hosts' python3 too)
  python3-hypothesis
  # optional on hosts: DNS lookups and updates of the engine (dns-persist-01 pre-check, rfc2136 dns-01)
  python3-dnspython
  # authoritative DNS servers for the rfc2136 dns-01 tests (started by the tests, never as services), dig and kdig
  bind9 knot bind9-dnsutils knot-dnsutils
  # headless browser for the status page; namespaces (unshare, ip netns) for network tests
  chromium chromium-driver iproute2 util-linux procps
  # build/CI plumbing and benchmark peers
  make git curl shellcheck lego dehydrated
  # ApacheBench: the OCSP responder's capacity beside the engine (bench/ocsp_bench.py)
  apache2-utils
)

log() { printf '[install-deps] %s\n' "$*"; }

# Packaged services the tests never use: they start their own named/knotd on loopback with zones
# they write. apt must not start these (a policy-rc.d for the install where the machine has none),
# and where systemd runs they are stopped and disabled, also when installed earlier.
NO_SERVICES=(named knot)
POLICY_RC=/usr/sbin/policy-rc.d

missing_packages() {
  local pkg status
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || printf '%s\n' "$pkg"
  done
}

install_apt() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "apt: all ${#APT_PACKAGES[@]} packages present"
    return
  fi
  if [[ "$(id -u)" != 0 ]]; then
    log "apt: missing ${missing[*]} and not root: install them yourself" >&2
    exit 1
  fi
  log "apt: installing ${missing[*]}"
  apt-get update -q
  local own_policy=""
  if [[ ! -e "$POLICY_RC" ]]; then
    own_policy=1
    # invoke-rc.d and deb-systemd-invoke ask it; 101 = "action not allowed" (named, knot: NO_SERVICES)
    cat >"$POLICY_RC" <<'POLICY'
#!/bin/sh
# Written by mdfleet's scripts/install-deps.sh for one apt-get install, then removed.
case "$1" in named|named.service|knot|knot.service) exit 101 ;; esac
exit 0
POLICY
    chmod 0755 "$POLICY_RC"
  fi
  local rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  [[ -z "$own_policy" ]] || rm -f "$POLICY_RC"
  return "$rc"
}

stop_services() {
  [[ "$(id -u)" == 0 && -d /run/systemd/system ]] || return 0
  local unit
  for unit in "${NO_SERVICES[@]}"; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
      log "systemd: stopping and disabling $unit (the tests run their own)"
      systemctl disable --now --quiet "$unit" || true
    fi
  done
}

# podman on these machines needs runc and explicit ulimits (see DESIGN.md).
configure_podman() {
  [[ "$(id -u)" == 0 ]] || return 0
  local conf=/etc/containers/containers.conf.d/50-mdfleet.conf
  local want
  want=$'[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"\n'
  if [[ ! -f "$conf" || "$(cat "$conf")"$'\n' != "$want" ]]; then
    mkdir -p "$(dirname "$conf")"
    printf '%s' "$want" >"$conf"
    log "podman: wrote $conf"
  fi
}

# The controller Python: 3.11 (ansible-core 2.19). A pyenv shim may be broken here, so take
# the real interpreter; PYTHON overrides.
pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then printf '%s\n' "$PYTHON"; return; fi
  local p
  for p in /root/.pyenv/versions/3.11.*/bin/python3.11 /usr/local/bin/python3.11 /usr/bin/python3.11; do
    if [[ -x "$p" ]] && "$p" -c 'import venv, ensurepip' 2>/dev/null; then
      printf '%s\n' "$p"; return
    fi
  done
  log "no usable python3.11 found (set PYTHON=)" >&2
  exit 1
}

install_venv() {
  local stamp="$VENV/.requirements.sha256" want py
  py="$(pick_python)"
  want="$(sha256sum <"$ROOT/requirements-dev.txt" | cut -d' ' -f1) $("$py" -V 2>&1)"
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null \
     && [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "venv: $VENV up to date"
    return
  fi
  if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    log "venv: creating $VENV with $py"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
  fi
  log "venv: pip install -r requirements-dev.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
  printf '%s' "$want" >"$stamp"
}

# ansible-test bootstraps pip in its venvs with get-pip.py from a host we cannot reach: put
# our offline stand-in where it looks first (~/.ansible/test/cache/get_pip_<ver>.py).
install_get_pip() {
  local req ver cache
  req="$(find "$VENV"/lib -path '*/site-packages/ansible_test/_internal/python_requirements.py' -print -quit)"
  [[ -n "$req" ]] || return 0
  ver="$(grep -oE "pip='[0-9.]+'" "$req" | head -n1 | tr -dc '0-9.')"
  [[ -n "$ver" ]] || { log "ansible-test: cannot find its pip version in $req" >&2; exit 1; }
  cache="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
  if ! cmp -s "$ROOT/scripts/get-pip-offline.py" "$cache"; then
    mkdir -p "$(dirname "$cache")"
    cp "$ROOT/scripts/get-pip-offline.py" "$cache"
    log "ansible-test: installed offline get-pip as $cache"
  fi
}

# Debian sid's pebble for ARI/profile tests. A mirror hiccup must not stop everything else:
# the tests that need it fail on their own in CI (tests/peers/require.py).
fetch_pebble_sid() {
  bash "$ROOT/scripts/fetch-pebble-sid.sh" || log "WARNING: sid pebble not fetched; ARI tests will fail" >&2
}

# Other owners' machine setup: scripts/setup-podman.sh (molecule) and any
# scripts/install-deps.d/*.sh, run in name order after the packages are in.
run_hooks() {
  local hook
  for hook in "$ROOT"/scripts/setup-podman.sh "$ROOT"/scripts/install-deps.d/*.sh; do
    [[ -e "$hook" ]] || continue
    log "hook: $hook"
    bash "$hook"
  done
}

case "${1:-all}" in
  apt) install_apt; stop_services; configure_podman ;;
  venv) install_venv; install_get_pip ;;
  all) install_apt; stop_services; configure_podman; install_venv; install_get_pip; fetch_pebble_sid; run_hooks ;;
  *) echo "usage: $0 [all|apt|venv]" >&2; exit 2 ;;
esac
