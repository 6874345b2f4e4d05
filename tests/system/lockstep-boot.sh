#!/usr/bin/env bash
# System test: the translator's lockstep checker on the default guest. The
# given engine (jit by default) and the interpreter run the same boot (SeaBIOS, SYSLINUX
# and the start of the Linux kernel) side by side, compared every 10000
# instructions (registers, flags, segments, control registers, x87 state,
# MXCSR and XMM registers,
# and all of RAM every 2.56 million instructions); any divergence fails.
#   lockstep-boot.sh BT86 [IMAGE] [INSTRUCTIONS] [ENGINE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
count=${3:-800000000}
engine=${4:-jit}
if [ ! -r "$img" ] || [ ! -r /usr/share/seabios/bios.bin ]; then
  if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then
    echo "lockstep-boot: $img missing (run images/build-default.sh)"
    exit 1
  fi
  echo "lockstep-boot: skipped: $img not built (images/build-default.sh)"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bt86" -m 128 -hda "$img" -nographic -accel "$engine" -lockstep 10000 -max-insns "$count" \
  </dev/null >"$out" 2>&1
status=$?
tail -n 12 "$out"
if [ $status -ne 0 ] || ! grep -q "lockstep: no divergence in $count instructions" "$out"; then
  echo "lockstep-boot: FAILED (exit status $status)"
  exit 1
fi
# The run must have got past the firmware and the boot loader.
if ! grep -q "SYSLINUX" "$out"; then
  echo "lockstep-boot: FAILED: the guest did not reach SYSLINUX"
  exit 1
fi
echo "lockstep-boot: ok"
