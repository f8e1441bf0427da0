#!/usr/bin/env bash
# Builds the Debian guest: a Debian 12 root filesystem made from Debian packages (mmdebstrap) with
# systemd, openssh-server, memcached and redis-server (installed, started by the scenarios that use
# them, not at boot) and the dirtier, as a qcow2 disk image, and the
# image's own kernel and initramfs beside it for direct kernel boot (root=/dev/vda).
# Output: OUT/disk.qcow2, OUT/vmlinuz, OUT/vmlinux (uncompressed, when it has a PVH entry: what the
# bed's QEMU boots), OUT/initrd.img, OUT/ssh_host_key.pub, OUT/manifest.
# Skips the build when nothing it depends on changed (the package set is pinned by the suite and
# the day's archive: the manifest lists every package and version that went in).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel-pvh.sh"
out=${1:?usage: build.sh OUTDIR AUTHORIZED_PUBKEY}
key=${2:?usage: build.sh OUTDIR AUTHORIZED_PUBKEY}
suite=bookworm
packages=systemd-sysv,udev,openssh-server,memcached,redis-server,linux-image-amd64,iproute2,iputils-ping,python3,procps,kmod
size=2G
log() { printf '[debian-guest] %s\n' "$*"; }
for tool in mmdebstrap mke2fs qemu-img gcc; do
  command -v "$tool" >/dev/null || { echo "debian guest build: $tool is missing; fix: apt-get install mmdebstrap e2fsprogs qemu-utils gcc (scripts/setup.sh does)" >&2; exit 1; }
done
inputs=$(cat "$here/build.sh" "$here/miglab-net.sh" "$here/miglab-net.service" "$here/../guest/dirtier.c" "$here/../kernel-pvh.sh" "$key" | sha256sum | cut -d' ' -f1)-$suite-$packages-$size
if [ -f "$out/manifest" ] && grep -qx "inputs=$inputs" "$out/manifest"; then
  log "image up to date"; exit 0
fi
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
started=$(date +%s)
gcc -static -O2 -Wall -o "$work/dirtier" "$here/../guest/dirtier.c"
log "mmdebstrap $suite: $packages"
# The customize hooks run on this machine with the root filesystem at "$1".
mmdebstrap --variant=minbase --include="$packages" \
  --customize-hook='echo miglab-guest > "$1/etc/hostname"' \
  --customize-hook='printf "/dev/vda / ext4 rw,relatime 0 1\n" > "$1/etc/fstab"' \
  --customize-hook="install -D -m 600 '$key' \"\$1/root/.ssh/authorized_keys\"" \
  --customize-hook="install -m 755 '$work/dirtier' \"\$1/usr/local/bin/dirtier\"" \
  --customize-hook="install -m 755 '$here/miglab-net.sh' \"\$1/usr/local/sbin/miglab-net\"" \
  --customize-hook="install -m 644 '$here/miglab-net.service' \"\$1/etc/systemd/system/miglab-net.service\"" \
  --customize-hook='chroot "$1" systemctl enable miglab-net.service serial-getty@ttyS0.service' \
  --customize-hook='chroot "$1" systemctl disable memcached.service redis-server.service' \
  --customize-hook='chroot "$1" systemctl mask e2scrub_reap.service e2scrub_all.timer getty-static.service systemd-binfmt.service' \
  --customize-hook='printf "virtio_pci\nvirtio_blk\nvirtio_net\next4\n" >> "$1/etc/initramfs-tools/modules" && sed -i "s/^MODULES=.*/MODULES=list/" "$1/etc/initramfs-tools/initramfs.conf" && chroot "$1" update-initramfs -u -k all >/dev/null' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*_key* && chroot "$1" ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key' \
  --customize-hook='printf "PasswordAuthentication no\nHostKey /etc/ssh/ssh_host_ed25519_key\n" > "$1/etc/ssh/sshd_config.d/miglab.conf"' \
  --customize-hook="cp \"\$1\"/boot/vmlinuz-* '$work/vmlinuz' && cp \"\$1\"/boot/initrd.img-* '$work/initrd.img'" \
  --customize-hook="awk '{print \$1\" \"\$2}' \"\$1/etc/ssh/ssh_host_ed25519_key.pub\" > '$work/ssh_host_key.pub'" \
  --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' > '$work/packages'" \
  "$suite" "$work/root" >/dev/null
log "ext4 image ($size) from the root filesystem"
mke2fs -q -t ext4 -L miglab-root -d "$work/root" "$work/disk.raw" "$size"
qemu-img convert -O qcow2 "$work/disk.raw" "$out/disk.qcow2"
cp "$work/vmlinuz" "$work/initrd.img" "$work/ssh_host_key.pub" "$out/"
boot=bzimage
if pvh_kernel "$out/vmlinuz" "$out/vmlinux"; then boot=pvh; fi
{
  echo "inputs=$inputs"
  echo "boot=$boot"
  echo "built=$(date -u +%FT%TZ) seconds=$(( $(date +%s) - started ))"
  echo "disk_bytes=$(stat -c %s "$out/disk.qcow2") root_mib=$(du -sm "$work/root" | cut -f1)"
  sed 's/^/package /' "$work/packages"
} > "$out/manifest"
log "built $out: $(grep -c '^package ' "$out/manifest") packages, $(du -h "$out/disk.qcow2" | cut -f1) qcow2, $(( $(date +%s) - started )) s"
