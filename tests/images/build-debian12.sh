#!/usr/bin/env bash
# Build the molecule test-host image localhost/mdfleet-debian12-systemd:latest
# from debootstrap + `podman import` (no image registry is reachable here).
#
# Cached: the image carries a label with a hash of this script (= the recipe).
# If an image with the same hash exists, nothing is done. FORCE=1 rebuilds.
# Needs root, debootstrap, podman (and scripts/setup-podman.sh applied).
set -euo pipefail

IMAGE="${IMAGE:-localhost/mdfleet-debian12-systemd:latest}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
# Downloaded .debs are kept here so a rebuild after a recipe change downloads nothing.
CACHE="${DEBOOTSTRAP_CACHE:-/var/cache/mdfleet-debootstrap}"
SUITE=bookworm
LABEL=org.mdfleet.recipe

# What the role/tests need on a host, installed now so converges never run apt:
# - systemd as PID 1 (+dbus for systemctl/logind), python3 for Ansible,
#   python3-apt so ansible.builtin.apt/package_facts work without installing it;
# - engine deps (Debian 12 versions are the target: cryptography 38, josepy 1.13,
#   requests 2.28), openssl + ca-certificates; python3-cffi-backend named
#   explicitly: debootstrap's resolver ignores virtual packages and cryptography
#   depends on python3-cffi-backend-api-min/max (dpkg: "dependency problems");
# - web servers for the glue: nginx (bookworm's real nginx 1.22 package; nginx-core/
#   -full would add geoip/image/xslt modules that pull X11 libs), apache2 (ships
#   mod_md 2.6.x, our anchor), haproxy 2.6;
# - iproute2/procps for debugging (ss, ps).
PACKAGES=(
  systemd systemd-sysv dbus python3 python3-apt
  python3-cryptography python3-cffi-backend python3-josepy python3-requests
  openssl ca-certificates nginx apache2 haproxy
  iproute2 procps
)

# Units that must not run in a container sharing the host's network namespace
# (or that only add noise / background apt runs / dpkg locks during tests).
MASK=(
  systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service
  systemd-resolved.service systemd-timesyncd.service
  systemd-sysctl.service            # would write net.* sysctls of the HOST netns
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
  getty@.service console-getty.service
)
# Installed but not started at boot: with host networking they would bind *:80
# of the host. The role/tests start them with their own listen addresses.
DISABLE=(nginx.service apache2.service apache-htcacheclean.service haproxy.service)

here="$(cd "$(dirname "$0")" && pwd)"
recipe="$(sha256sum "$here/$(basename "$0")" | cut -c1-16)"

have="$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [[ "$have" == "$recipe" && "${FORCE:-0}" != 1 ]]; then
  echo "image $IMAGE is up to date (recipe $recipe)"
  exit 0
fi

start=$(date +%s)
work="$(mktemp -d /var/tmp/mdfleet-rootfs.XXXXXX)"
trap 'rm -rf --one-file-system "$work"' EXIT
root="$work/rootfs"

echo "debootstrap $SUITE into $root (recipe $recipe)"
inc="$(IFS=,; echo "${PACKAGES[*]}")"
# Not quiet on failure: debootstrap's log is in $root/debootstrap/debootstrap.log.
mkdir -p "$CACHE"
if ! debootstrap --variant=minbase --cache-dir="$CACHE" --include="$inc" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.out" 2>&1; then
  tail -n 30 "$work/debootstrap.out"; tail -n 30 "$root/debootstrap/debootstrap.log" 2>/dev/null || true
  exit 1
fi
t_boot=$(date +%s)

# (systemctl --root works offline on the tree; its "Created symlink" chatter goes to a log)
if ! { systemctl --root="$root" mask "${MASK[@]}" && systemctl --root="$root" disable "${DISABLE[@]}"; } \
     2>"$work/systemctl.log"; then
  cat "$work/systemctl.log"; exit 1
fi

# Each container generates its own machine-id at boot (empty file = "not set").
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# Updates + security sources, in case a test ever needs apt (not used by default).
cat >"$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
# Size (~300 -> ~250 MB): drop the package cache, apt lists, translations, docs and
# manuals (keep licences).
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log
find "$root/usr/share/doc" -type f ! -name copyright -delete

# CMD /sbin/init: podman's --systemd=true (default) then sees systemd and sets up
# /run, /tmp, cgroups, container=podman and STOPSIGNAL SIGRTMIN+3 by itself.
old="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
tar -C "$root" --numeric-owner -cf - . | podman import --quiet \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV container=podman' \
  --change "LABEL $LABEL=$recipe" \
  --message "mdfleet debian12 systemd test host (recipe $recipe)" \
  - "$IMAGE" >/dev/null

# Drop our previous image (now untagged); kept while a container still uses it.
if [[ -n "$old" ]]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
now=$(date +%s)
echo "built $IMAGE (recipe $recipe) in $((now - start))s (debootstrap $((t_boot - start))s," \
     "import $((now - t_boot))s), $(( $(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000 )) MB"
