#!/usr/bin/env bash
# Configure root podman for the molecule test hosts (systemd as PID 1, host network).
# Idempotent: files are rewritten only when their content would change.
# Run as root. Does not install packages: scripts/install-deps.sh does (podman runc
# debootstrap ...).
set -euo pipefail

log() { printf '[setup-podman] %s\n' "$*"; }
[[ "$(id -u)" == 0 ]] || { log "must run as root" >&2; exit 1; }
command -v podman >/dev/null || { log "podman missing: run scripts/install-deps.sh" >&2; exit 1; }
command -v runc >/dev/null || { log "runc missing: run scripts/install-deps.sh" >&2; exit 1; }

# write_if_changed FILE CONTENT
write_if_changed() {
  if [[ -f "$1" && "$(cat "$1")" == "$2" ]]; then return 0; fi
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1"
  log "wrote $1"
}

# --- containers.conf (a drop-in: podman 4.3 reads containers.conf.d/*.conf in name
# order, later wins; scripts/install-deps.sh writes 50-mdfleet.conf with the same values).
# - runtime runc: crun is not installed here (and /etc/containers/libpod.conf names it).
# - ulimits explicit: podman passes them to runc, and a nofile above the caller's hard
#   limit fails every start with "error setting rlimit type 7: operation not permitted"
#   (seen here with 20001 against a hard limit of 20000), so cap it at that limit.
# - cgroupfs + file events: PID 1 of these machines is not systemd (no systemd cgroup
#   manager, no journald for podman's events).
nofile=20000
hard="$(ulimit -Hn)"
[[ "$hard" != unlimited && "$hard" -lt "$nofile" ]] && nofile="$hard"
write_if_changed /etc/containers/containers.conf.d/60-mdfleet-molecule.conf "# managed by mdfleet scripts/setup-podman.sh
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=32768:32768\"]

[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""

# --- storage: overlay (kernel overlayfs, root) where the graph root's filesystem takes
# it (ext4 here: "Native Overlay Diff: true"), else vfs (slow, full copies). A store
# already in use is never switched: podman refuses a driver change on an existing store.
graphroot=/var/lib/containers/storage
storage=/etc/containers/storage.conf
if [[ -f "$storage" ]] && ! grep -q 'managed by mdfleet' "$storage"; then
  log "$storage exists and is not ours: left as it is"
elif [[ -d "$graphroot/overlay" && ! -f "$storage" ]]; then
  : # already an overlay store on the packaged defaults (driver = "overlay"): nothing to do
else
  mkdir -p "$graphroot"
  probe="$(mktemp -d "$graphroot/.overlay-probe.XXXXXX")"   # same filesystem as the store
  mkdir -p "$probe"/{l,u,w,m}
  driver=vfs
  if mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
    driver=overlay; umount "$probe/m"
  fi
  rm -rf "$probe"
  write_if_changed "$storage" "# managed by mdfleet scripts/setup-podman.sh ($driver: chosen by a mount probe)
[storage]
driver = \"$driver\"
runroot = \"/run/containers/storage\"
graphroot = \"$graphroot\""
fi

log "podman: runtime=$(podman info --format '{{.Host.OCIRuntime.Name}}') storage=$(podman info --format '{{.Store.GraphDriverName}}') nofile=$nofile"
