#!/usr/bin/env bash
# Fetch Debian sid's pebble (2.10+: ARI and ACME profiles; bookworm has 2.4.0 without either)
# into .cache/pebble-sid/ (usr/bin/pebble). The system's apt is left as it is: a private sources
# list, state and cache dirs, the mirror taken from the system's own bookworm sources.
# Idempotent: does nothing when the binary is already there. Usage: $0 [dest-dir]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/.cache/pebble-sid}"
log() { printf '[fetch-pebble-sid] %s\n' "$*"; }

if [[ -x "$DEST/usr/bin/pebble" ]]; then
  log "present: $DEST/usr/bin/pebble"
  exit 0
fi

# The Debian mirror this machine already uses (deb822 .sources or one-line .list format).
mirror="$(
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true
)"
[[ -n "$mirror" ]] || { log "no Debian mirror found in the apt sources" >&2; exit 1; }

work="$(mktemp -d)"
chmod 755 "$work"  # apt downloads as the _apt user
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/state/lists/partial "$work"/cache/archives/partial
: >"$work/status"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State=$work/state" -o "Dir::State::status=$work/status" -o "Dir::Cache=$work/cache"
  -o Acquire::Languages=none -o APT::Architecture="$(dpkg --print-architecture)"
)
log "reading sid's package index from $mirror"
apt-get -q "${apt_opts[@]}" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
(cd "$work" && apt-get -q "${apt_opts[@]}" download pebble)
deb="$(find "$work" -maxdepth 1 -name 'pebble_*.deb' -print -quit)"
rm -rf "$DEST.tmp"
mkdir -p "$DEST.tmp"
dpkg -x "$deb" "$DEST.tmp"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
log "installed $(basename "$deb") into $DEST"
