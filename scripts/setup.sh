#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, npm packages, the Temporal CLI,
# the lab guest image and the TypeScript build. Every step checks first and skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=${MIGLAB_STATE_DIR:-$root/.miglab}
log() { printf '[setup] %s\n' "$*"; }

# --- prerequisites, checked before anything changes -----------------------------------------------
# Node >= 20.19 for miglab and its packages; Go >= 1.25 to build the Temporal CLI, unless a temporal
# binary is already at hand. Debian 12 ships Node 18 and Go 1.19: say what to install, then stop.
problems=()
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
node_v=$(node -p 'process.versions.node' 2>/dev/null || true)
if [ -z "$node_v" ]; then problems+=("Node.js is not installed: install Node.js 20.19 or later (NodeSource's deb packages, or nvm)")
elif ! version_ge "$node_v" 20.19.0; then problems+=("Node.js $node_v is too old: install Node.js 20.19 or later (Debian 12 ships 18; NodeSource's deb packages, or nvm)"); fi
have_temporal=
if [ -n "${MIGLAB_TEMPORAL_CLI:-}" ] || command -v temporal >/dev/null 2>&1 || [ -x "$state/bin/temporal" ]; then have_temporal=1; fi
if [ -z "$have_temporal" ]; then
  go_bin=$(command -v go || { [ -z "${MIGLAB_SETUP_NO_USR_LOCAL_GO:-}" ] && [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)
  go_v=$([ -n "$go_bin" ] && "$go_bin" env GOVERSION 2>/dev/null | sed 's/^go//' || true)
  if [ -z "$go_v" ]; then problems+=("no Temporal CLI and no Go to build it: install Go 1.25 or later (the tarball from go.dev, into /usr/local/go), or set MIGLAB_TEMPORAL_CLI to a temporal binary")
  elif ! version_ge "$go_v" 1.25; then problems+=("Go $go_v is too old to build the Temporal CLI v1.5.1: install Go 1.25 or later (Debian 12 ships 1.19; the tarball from go.dev), or set MIGLAB_TEMPORAL_CLI to a temporal binary"); fi
fi
if [ ${#problems[@]} -gt 0 ]; then
  printf 'miglab setup: missing prerequisites, nothing was changed:\n' >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 2
fi

# --- Debian packages -------------------------------------------------------------------------
# qemu for the VMs, openssh-server for the bed hosts, dropbear + busybox for the guest,
# cpio/gcc to build the guest image, iproute2/ping for the bed network, chromium for the UI test,
# socat for the bare-loop benchmark, libvirt for the libvirt backend (one libvirtd per bed host),
# mmdebstrap + e2fsprogs to build the Debian disk guest.
pkgs=(qemu-system-x86 qemu-utils openssh-server openssh-client busybox-static dropbear-bin
      iproute2 iputils-ping cpio gcc libc6-dev procps chromium socat
      libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu mmdebstrap e2fsprogs)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "miglab setup: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Packages must not start their services here (libvirtd would bring up its default network):
  # the bed starts its own daemons. policy-rc.d is Debian's switch for that, if none is set.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1; fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
else
  log "Debian packages present"
fi

# --- lab SSH key, and the Debian disk guest built meanwhile ------------------------------------
# One key pair for the bed: the controller logs in to the bed hosts and to guests with it.
mkdir -p "$state/keys" "$state/logs" && chmod 700 "$state/keys"
[ -f "$state/keys/lab_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C miglab-lab -f "$state/keys/lab_ed25519"
# The Debian disk guest (systemd, sshd, memcached, redis) from Debian packages: about 100 s on a
# fresh machine, mostly package downloads and dpkg, so it runs while npm and Go build; skipped in
# a second when nothing changed. Its output goes to a log, shown if it fails.
debian_log="$state/logs/debian-guest-build.log"
bash lab/debian-guest/build.sh "$state/debian-guest" "$state/keys/lab_ed25519.pub" > "$debian_log" 2>&1 &
debian_pid=$!
trap 'kill "$debian_pid" 2>/dev/null || true' EXIT

# --- npm packages ------------------------------------------------------------------------------
# Re-run npm ci only when package-lock.json changed since the last install.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.miglab-lock ] || [ "$(cat node_modules/.miglab-lock)" != "$lock_sum" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > node_modules/.miglab-lock
else
  log "npm packages up to date"
fi

# --- Temporal CLI (dev server with SQLite and the Web UI) -------------------------------------
# Honour MIGLAB_TEMPORAL_CLI, then a temporal on PATH, then our own build under the state dir.
temporal_version=v1.5.1
if [ -n "${MIGLAB_TEMPORAL_CLI:-}" ]; then
  [ -x "$MIGLAB_TEMPORAL_CLI" ] || { echo "miglab setup: MIGLAB_TEMPORAL_CLI=$MIGLAB_TEMPORAL_CLI is not an executable file" >&2; exit 1; }
  log "Temporal CLI from MIGLAB_TEMPORAL_CLI"
elif command -v temporal >/dev/null 2>&1; then
  log "Temporal CLI on PATH: $(command -v temporal)"
elif [ -x "$state/bin/temporal" ]; then
  log "Temporal CLI present: $state/bin/temporal"
else
  go=$go_bin
  log "building the Temporal CLI $temporal_version with go install (a few minutes, once)"
  mkdir -p "$state/bin"
  GOBIN="$state/bin" "$go" install "github.com/temporalio/cli/cmd/temporal@$temporal_version"
fi

# --- lab guest images ------------------------------------------------------------------------------
bash lab/guest/build.sh "$state/guest" "$state/keys/lab_ed25519.pub"
# The bed's Xen host: Debian's Xen and tools unpacked into a dom0 initramfs (nothing installed).
bash lab/xen/build-host.sh "$state/xen" "$state/guest"

if ! wait "$debian_pid"; then
  echo "miglab setup: building the Debian guest failed; the end of $debian_log:" >&2
  tail -n 30 "$debian_log" >&2
  exit 1
fi
trap - EXIT
log "$(grep '^\[debian-guest\]' "$debian_log" | tail -n 1)"

# --- TypeScript build --------------------------------------------------------------------------
log "tsc"
npx tsc -p tsconfig.json
log "workflow bundle"
node dist/workers/build-bundle.js
log "done"
