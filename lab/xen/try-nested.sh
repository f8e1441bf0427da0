#!/usr/bin/env bash
# Experiment toward issue 7 (a real Xen host on the bed), not used by miglab yet: boots Debian's
# Xen 4.17 under QEMU (TCG) with the lab guest's kernel as PV dom0, and in that dom0 starts
# xenstored, xenconsoled and `xl create`s the lab guest as a PV domU. Prints what dom0 prints
# ("dom0: …" lines) and the domU's console; exits when dom0 says DONE.
#   bash lab/xen/try-nested.sh [work-dir]      (needs the lab guest: npm run setup)
# Packages are fetched with apt-get download and unpacked into the work dir, not installed.
# Xen needs smap=false smep=false under TCG: with them on, dom0 crashes at once (#PF in Xen's
# create_bounce_frame). QEMU's user-mode network is restricted: nothing leaves the VM.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
guest=${MIGLAB_STATE_DIR:-$here/.miglab}/guest
work=${1:-$(mktemp -d /tmp/miglab-xen-XXXXXX)}
[ -r "$guest/vmlinuz" ] || { echo "no lab guest in $guest: run npm run setup" >&2; exit 2; }
mkdir -p "$work" && cd "$work"
log() { printf '[xen] %s\n' "$*" >&2; }

kpkg=$(sed -n 's/^kernel=//p' "$guest/manifest" 2>/dev/null || true)
kpkg=${kpkg:-$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
pkgs=(xen-hypervisor-4.17-amd64 xen-utils-4.17 libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
      libxenmisc4.17 libxenstore4 libxentoollog1 libyajl2 libxenhypfs1 libxendevicemodel1 libxentoolcore1 "$kpkg")
log "fetching ${pkgs[*]}"
apt-get download "${pkgs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true
rm -rf x && mkdir x && for d in ./*.deb; do dpkg -x "$d" x; done
zcat x/boot/xen-4.17-amd64.gz > xen   # a 32-bit multiboot ELF: QEMU's -kernel loads it
kver=$(ls x/lib/modules)

log "dom0 initramfs: the lab guest's, plus xl, xenstored, xenconsoled, their libraries and Xen's modules"
rm -rf d0 && mkdir d0 && (cd d0 && zcat "$guest/initrd.img" | cpio -id --quiet)
bin=x/usr/lib/xen-4.17/bin
mkdir -p d0/xen/bin d0/lib/modules/xen d0/guest d0/lib/x86_64-linux-gnu
cp "$bin/xl" "$bin/xenstored" "$bin/xenconsoled" "$bin/xen-init-dom0" d0/xen/bin/
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do cp "$(find "x/lib/modules/$kver" -name "$m.ko" | head -n1)" d0/lib/modules/xen/; done
export LD_LIBRARY_PATH=$PWD/x/usr/lib/x86_64-linux-gnu:$PWD/x/usr/lib/xen-4.17/lib
for b in d0/xen/bin/*; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u | while read -r l; do cp -L "$l" d0/lib/x86_64-linux-gnu/; done
cp "$guest/vmlinuz" "$guest/initrd.img" d0/guest/
cat > d0/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/xen/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts
mkdir -p /run /var/run/xen /var/run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen/console /etc/xen
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do insmod /lib/modules/xen/$m.ko; done
mount -t xenfs xenfs /proc/xen
echo "dom0: up $(cut -d' ' -f1 /proc/uptime) s; /dev/xen: $(ls /dev/xen | tr '\n' ' ')"
xenstored --pid-file /var/run/xenstored.pid && xen-init-dom0 && xenconsoled --log=guest --log-dir=/var/log/xen/console
xl info | grep -E '^(xen_version|total_memory|free_memory|nr_cpus)' | sed 's/^/dom0: /'
cat > /etc/xen/domu.cfg <<EOC
name = "domu"
type = "pv"
kernel = "/guest/vmlinuz"
ramdisk = "/guest/initrd.img"
memory = 128
vcpus = 1
extra = "console=hvc0 miglab.name=domu"
EOC
t0=$(cut -d' ' -f1 /proc/uptime)
xl create /etc/xen/domu.cfg
i=0; while [ $i -lt 120 ] && ! grep -q 'miglab-guest ready' /var/log/xen/console/guest-domu.log 2>/dev/null; do sleep 1; i=$((i+1)); done
echo "dom0: xl create at $t0 s; domU console says ready after about $i s"
xl list | sed 's/^/dom0: /'
echo "dom0: DONE"
while true; do sleep 3600; done
EOF
chmod +x d0/init
(cd d0 && find . | cpio -o -H newc --quiet | gzip -1 > ../dom0-initrd.img)

log "booting Xen (TCG); takes about a minute"
start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m 1024 -smp 2 -nographic -no-reboot \
  -kernel xen -append "console=com1 com1=115200 dom0_mem=512M smap=false smep=false" \
  -initrd "$guest/vmlinuz console=hvc0 miglab.name=dom0,dom0-initrd.img" \
  -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 < /dev/null 2>&1 | tee boot.log |
  while IFS= read -r line; do
    case "$line" in
      *'dom0: DONE'*) echo "$line (wall $(( $(date +%s) - start )) s)"; pkill -f 'miglab.name=dom0,dom0-initrd.img' || true; break ;;
      *'dom0: '*|*'Xen version'*) echo "$line" ;;
    esac
  done
log "work dir: $work (boot.log has everything)"
