# Sourced by the image builds (lab/guest/build.sh, lab/xen/build-host.sh).
# copy_modules WHAT PKG TREE DEST NAME...: copies each kernel module NAME (.ko, or .ko.xz
# decompressed) found under TREE, the unpacked kernel package PKG, into DEST as NAME.ko.
# WHAT names the build in the error for a module the package lacks.
copy_modules() {
  local what=$1 pkg=$2 tree=$3 dest=$4 m f
  shift 4
  for m in "$@"; do
    f=$(find "$tree" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
    [ -n "$f" ] || { echo "$what: module $m not found in $pkg" >&2; return 1; }
    case "$f" in *.xz) xz -dc "$f" > "$dest/$m.ko" ;; *) cp "$f" "$dest/$m.ko" ;; esac
  done
}
