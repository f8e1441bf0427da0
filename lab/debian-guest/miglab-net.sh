#!/bin/sh
# The Debian guest's network, as the lab guest's init does it: name and address from the kernel
# command line (miglab.name=, miglab.ip=), on the first Ethernet interface.
ip=; name=guest
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    miglab.ip=*) ip=${arg#miglab.ip=} ;;
    miglab.name=*) name=${arg#miglab.name=} ;;
  esac
done
hostname "$name"
# the NIC's driver may still be loading (udev): wait for it, up to 20 s
for _ in $(seq 1 100); do
  dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
  [ -n "$dev" ] && break
  sleep 0.2
done
ip link set lo up
if [ -n "$ip" ] && [ -n "$dev" ]; then
  ip addr add "$ip" dev "$dev"
  ip link set "$dev" up
fi
echo "miglab-guest ready name=$name ip=$ip" > /dev/console
