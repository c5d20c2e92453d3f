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
  # optional on hosts: DNS lookups of the engine (dns-persist-01 pre-check)
  python3-dnspython
  # headless browser for the status page; namespaces (unshare, ip netns) for network tests
  chromium chromium-driver iproute2 util-linux procps
  # build/CI plumbing and benchmark peers
  make git curl shellcheck lego dehydrated
)

log() { printf '[install-deps] %s\n' "$*"; }

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
  apt-get install -y -q --no-install-recommends "${missing[@]}"
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
  apt) install_apt; configure_podman ;;
  venv) install_venv; install_get_pip ;;
  all) install_apt; configure_podman; install_venv; install_get_pip; fetch_pebble_sid; run_hooks ;;
  *) echo "usage: $0 [all|apt|venv]" >&2; exit 2 ;;
esac
