#!/bin/bash
# QEMU for libvirt domains on the bed: QEMU before 9.0 loses TCG guest writes while migrating a RAM
# block whose size is a multiple of 64 pages (see needsDirtySyncPadding in activities/qemu/vm-spec.ts),
# and libvirt rounds guest memory to whole MiB. This wrapper gives the main RAM 8 KiB more, as the
# QEMU backend does with -m, on both ends of a migration alike (both run this same wrapper).
args=()
prev=
for a in "$@"; do
  if [[ $a =~ ^(.*\"id\":\"pc\.ram\".*\"size\":)([0-9]+)(.*)$ ]]; then
    a="${BASH_REMATCH[1]}$((BASH_REMATCH[2] + 8192))${BASH_REMATCH[3]}"
  elif [[ $prev == -m && $a =~ ^([0-9]+)$ ]]; then
    a="$((a * 1024 + 8))K"
  fi
  args+=("$a")
  prev=$a
done
exec /usr/bin/qemu-system-x86_64 "${args[@]}"
