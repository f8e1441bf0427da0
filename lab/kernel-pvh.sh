# Sourced by the guest image builds (lab/guest/build.sh, lab/debian-guest/build.sh).
# pvh_kernel BZIMAGE OUT: writes the kernel inside BZIMAGE, uncompressed, to OUT when it is an ELF
# with a PVH entry (XEN_ELFNOTE_PHYS32_ENTRY, CONFIG_PVH), which QEMU's -kernel boots directly:
# no firmware loader and no decompression in the guest. Under TCG that decompression is most of a
# guest's boot (xz: about 4 of 7 s here); under KVM it costs little either way. Returns 1 and says
# why when the kernel cannot be booted so (the caller then boots BZIMAGE as before).
# u32 FILE OFFSET: the little-endian 32-bit number at OFFSET in FILE
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

pvh_kernel() {
  local bz=$1 out=$2 sects off len magic unpack want
  # an earlier build's kernel must not outlive this one's
  rm -f "$out"
  # the boot protocol's header: setup sectors at 0x1f1, the payload's offset and length at 0x248/0x24c
  sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
  [ "$sects" != 0 ] || sects=4
  off=$(( (sects + 1) * 512 + $(u32 "$bz" $((0x248))) ))
  len=$(u32 "$bz" $((0x24c)))
  magic=$(od -An -tx1 -j "$off" -N4 "$bz" | tr -d ' ')
  case "$magic" in
    fd377a58) unpack='xz -dc' ;;
    28b52ffd) unpack='zstd -dcq' ;;
    1f8b08*) unpack='gzip -dc' ;;
    *) echo "no PVH kernel: $bz's payload is compressed in a way not handled here (magic $magic)" >&2; return 1 ;;
  esac
  # The payload ends with the unpacked size (4 bytes), which the decompressor may call trailing
  # garbage: its status is not the test, the ELF magic and that size are.
  tail -c +$((off + 1)) "$bz" | head -c "$len" | $unpack > "$out.tmp" 2>/dev/null || true
  want=$(u32 "$bz" $((off + len - 4)))
  if [ "$(od -An -tx1 -N4 "$out.tmp" | tr -d ' ')" != 7f454c46 ] || [ "$(stat -c %s "$out.tmp")" != "$want" ]; then
    rm -f "$out.tmp"; echo "no PVH kernel: $bz's payload did not unpack to an ELF of $want bytes" >&2; return 1
  fi
  # note type 0x12 in the Xen notes: the 32-bit PVH entry point
  if ! readelf -n "$out.tmp" | grep -q 'Unknown note type: (0x00000012)\|XEN_ELFNOTE_PHYS32_ENTRY'; then
    rm -f "$out.tmp"; echo "no PVH kernel: $bz has no PVH entry (CONFIG_PVH)" >&2; return 1
  fi
  mv "$out.tmp" "$out"
}
