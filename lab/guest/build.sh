#!/usr/bin/env bash
# Builds the lab guest: a Debian kernel plus a busybox initramfs with virtio-net (Xen netfront when a Xen domU), dropbear (SSH)
# and the dirtier workload. Output: OUT/vmlinuz, OUT/vmlinux (the same kernel uncompressed, when it
# has a PVH entry: what the bed's QEMU boots), OUT/initrd.img, OUT/ssh_host_key.pub, OUT/manifest.
# Skips the build when nothing it depends on changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel-modules.sh"
. "$here/../kernel-pvh.sh"
out=${1:?usage: build.sh OUTDIR}
key=${2:?usage: build.sh OUTDIR AUTHORIZED_PUBKEY}
mkdir -p "$out"
log() { printf '[guest] %s\n' "$*"; }

resolve_kernel() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
kpkg=$(resolve_kernel)
if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
  # A fresh machine may have every package installed but no package lists yet.
  apt-get update -q >/dev/null && kpkg=$(resolve_kernel)
fi
[ -n "$kpkg" ] || { echo "guest build: cannot resolve linux-image-amd64; fix: run apt-get update (as root)" >&2; exit 1; }
inputs=$(cat "$here/build.sh" "$here/../kernel-modules.sh" "$here/../kernel-pvh.sh" "$here/init" "$here/dirtier.c" "$key" | sha256sum | cut -d' ' -f1)-$kpkg
if [ -f "$out/manifest" ] && grep -qx "inputs=$inputs" "$out/manifest"; then
  log "image up to date ($kpkg)"; exit 0
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
log "fetching $kpkg"
(cd "$work" && apt-get download "$kpkg" >/dev/null 2>&1) || { echo "guest build: apt-get download $kpkg failed" >&2; exit 1; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
kver=${kpkg#linux-image-}
cp "$work/k/boot/vmlinuz-$kver" "$out/vmlinuz"
boot=bzimage
if pvh_kernel "$out/vmlinuz" "$out/vmlinux"; then boot=pvh; fi

root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root/.ssh,lib/modules,etc/dropbear,var/log}
cp /bin/busybox "$root/bin/busybox"
# virtio-net and what it depends on, in load order (the init loads them in this order).
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
# On a Xen host the guest runs paravirtualized: its NIC is Xen's netfront, not virtio.
copy_modules "guest build" "$kpkg" "$work/k/lib/modules/$kver" "$root/lib/modules" $mods xen-netfront
echo "$mods" > "$root/lib/modules/order"

# dropbear and the shared libraries it links.
cp /usr/sbin/dropbear "$root/sbin/dropbear"
for lib in $(ldd /usr/sbin/dropbear | awk '/=>/{print $3} /ld-linux/{print $1}'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
dropbearkey -t ed25519 -f "$root/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1
dropbearkey -y -f "$root/etc/dropbear/dropbear_ed25519_host_key" | awk '/^ssh-/{print $1" "$2}' > "$out/ssh_host_key.pub"

gcc -static -O2 -Wall -o "$root/bin/dirtier" "$here/dirtier.c"
cp "$here/init" "$root/init"; chmod 755 "$root/init"
cp "$key" "$root/root/.ssh/authorized_keys"
chmod 700 "$root/root/.ssh"; chmod 600 "$root/root/.ssh/authorized_keys"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo '/bin/sh' > "$root/etc/shells"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
printf 'kernel=%s\nboot=%s\ninputs=%s\n' "$kpkg" "$boot" "$inputs" > "$out/manifest"
log "built $out ($kpkg, boot $boot, initrd $(du -h "$out/initrd.img" | cut -f1))"
