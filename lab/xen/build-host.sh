#!/usr/bin/env bash
# Builds a bed Xen host: Debian's Xen hypervisor (booted by QEMU as a multiboot kernel) and a dom0
# initramfs made from the lab guest's (same Debian kernel, busybox, dropbear) plus Xen's tools
# (xl, xenstored, xenconsoled, libxl-save-helper), the netback, bridge and 9p modules, and a
# dropbear client for `xl migrate`. Packages are fetched with apt-get download and unpacked, not
# installed. Output: OUT/xen, OUT/dom0-initrd.img, OUT/dom0_host_key.pub, OUT/manifest.
# Skips the build when nothing it depends on changed.
#   build-host.sh OUTDIR GUESTDIR     (GUESTDIR: the lab guest, lab/guest/build.sh's output)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../kernel-modules.sh"
out=${1:?usage: build-host.sh OUTDIR GUESTDIR}; mkdir -p "$out"; out=$(cd "$out" && pwd)
guest=$(cd "${2:?usage: build-host.sh OUTDIR GUESTDIR}" && pwd)
log() { printf '[xen-host] %s\n' "$*"; }
[ -r "$guest/initrd.img" ] && [ -r "$guest/manifest" ] || { echo "xen host build: no lab guest in $guest; fix: run lab/guest/build.sh first (npm run setup does)" >&2; exit 1; }

# The newest Xen Debian offers (bookworm: 4.17), and the kernel the guest was built from.
xver=$(apt-cache search --names-only '^xen-hypervisor-4\.[0-9]+-amd64$' 2>/dev/null | awk '{print $1}' | sed 's/^xen-hypervisor-//; s/-amd64$//' | sort -V | tail -n1)
[ -n "$xver" ] || { echo "xen host build: apt-cache finds no xen-hypervisor-4.*-amd64; fix: apt-get update (as root)" >&2; exit 1; }
kpkg=$(sed -n 's/^kernel=//p' "$guest/manifest")
inputs=$(cat "$here/build-host.sh" "$here/../kernel-modules.sh" "$here/dom0-init" "$here/vif-bed" "$guest/manifest" | sha256sum | cut -d' ' -f1)-xen$xver
if [ -f "$out/manifest" ] && grep -qx "inputs=$inputs" "$out/manifest"; then
  log "image up to date (Xen $xver)"; exit 0
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pkgs=("xen-hypervisor-$xver-amd64" "xen-utils-$xver" "libxenmisc$xver" libxencall1 libxenevtchn1 libxenforeignmemory1
      libxengnttab1 libxenstore4 libxentoollog1 libxenhypfs1 libxendevicemodel1 libxentoolcore1 libyajl2 "$kpkg")
log "fetching ${pkgs[*]}"
(cd "$work" && apt-get download "${pkgs[@]}" >/dev/null 2>&1) || { echo "xen host build: apt-get download ${pkgs[*]} failed; fix: apt-get update (as root)" >&2; exit 1; }
mkdir "$work/x" && for d in "$work"/*.deb; do dpkg-deb -x "$d" "$work/x"; done
x=$work/x
kver=$(ls "$x/lib/modules")
mkdir -p "$out"
zcat "$x/boot/xen-$xver-amd64.gz" > "$out/xen.new"   # a multiboot ELF: QEMU's -kernel loads it

d0=$work/d0
mkdir "$d0" && (cd "$d0" && zcat "$guest/initrd.img" | cpio -id --quiet)
libexec=/usr/lib/xen-$xver/bin   # where libxl looks for libxl-save-helper
mkdir -p "$d0$libexec" "$d0/usr/bin" "$d0/etc/xen/scripts" "$d0/lib/x86_64-linux-gnu"
for b in xl xenstored xenconsoled xen-init-dom0 libxl-save-helper; do cp "$x$libexec/$b" "$d0$libexec/"; done
ln -s "$libexec/xl" "$d0/usr/bin/xl"    # on the PATH of `xl migrate`'s remote command
cp /usr/bin/dbclient "$d0/usr/bin/dbclient"
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$d0/lib/x86_64-linux-gnu/"   # glibc dlopens it for pthread_cancel (xl)
export LD_LIBRARY_PATH=$x/usr/lib/x86_64-linux-gnu:$x/usr/lib/xen-$xver/lib
for b in "$d0$libexec"/* "$d0/usr/bin/dbclient"; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u | while read -r l; do
  [ -e "$d0/lib/x86_64-linux-gnu/$(basename "$l")" ] || cp -L "$l" "$d0/lib/x86_64-linux-gnu/"
done

# Modules after the guest's virtio ones, in dependency order.
mods="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-netback llc stp bridge netfs fscache 9pnet 9pnet_virtio 9p"
copy_modules "xen host build" "$kpkg" "$x/lib/modules/$kver" "$d0/lib/modules" $mods
echo "$mods" > "$d0/lib/modules/order.xen"

# dom0's own host key (not the guests'), and a key dom0s use to reach each other for `xl migrate`.
rm -f "$d0/etc/dropbear/dropbear_ed25519_host_key"
dropbearkey -t ed25519 -f "$d0/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1
dropbearkey -y -f "$d0/etc/dropbear/dropbear_ed25519_host_key" | awk '/^ssh-/{print $1" "$2}' > "$out/dom0_host_key.pub.new"
cp "$out/dom0_host_key.pub.new" "$d0/etc/dropbear/host_key.pub"
dropbearkey -t ed25519 -f "$d0/root/.ssh/id_dropbear" >/dev/null 2>&1
dropbearkey -y -f "$d0/root/.ssh/id_dropbear" | awk '/^ssh-/{print $1" "$2" miglab-dom0"}' >> "$d0/root/.ssh/authorized_keys"
cp "$here/dom0-init" "$d0/init" && chmod 755 "$d0/init"
cp "$here/vif-bed" "$d0/etc/xen/scripts/vif-bed" && chmod 755 "$d0/etc/xen/scripts/vif-bed"
: > "$d0/etc/xen/xl.conf"
(cd "$d0" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/dom0-initrd.img.new"

mv "$out/xen.new" "$out/xen"; mv "$out/dom0-initrd.img.new" "$out/dom0-initrd.img"; mv "$out/dom0_host_key.pub.new" "$out/dom0_host_key.pub"
printf 'xen=%s\nkernel=%s\ninputs=%s\n' "$xver" "$kpkg" "$inputs" > "$out/manifest"
log "built $out (Xen $xver, $kpkg, dom0 initrd $(du -h "$out/dom0-initrd.img" | cut -f1))"
