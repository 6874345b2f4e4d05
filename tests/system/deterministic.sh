#!/usr/bin/env bash
# System test: with -icount virtual time follows the instruction count, and
# with a fixed RTC start (-rtc base=DATE) the same guest prints the same
# bytes every run and under every engine: two jit runs and a threaded run of
# the default guest's boot (SeaBIOS, SYSLINUX and the kernel's first second)
# must match.
#   deterministic.sh BT86 [IMAGE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
if [ ! -r "$img" ] || [ ! -r /usr/share/seabios/bios.bin ]; then
  if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then echo "deterministic: $img missing"; exit 1; fi
  echo "deterministic: skipped: $img not built (images/build-default.sh)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { "$bt86" -m 128 -hda "$img" -snapshot -nographic -icount shift=1 -rtc base=2026-01-01T12:00:00 -max-insns 3000000000 \
          -accel "$1" </dev/null >"$dir/$2" 2>&1; }
run jit a && run jit b && run threaded c || { echo "deterministic: bt86 failed"; exit 1; }
if ! grep -qE "\[ *[0-9]+\.[0-9]+\]" "$dir/a"; then echo "deterministic: no kernel messages"; tail -5 "$dir/a"; exit 1; fi
for f in b c; do
  if ! cmp -s "$dir/a" "$dir/$f"; then
    echo "deterministic: run $f differs from run a:"
    diff "$dir/a" "$dir/$f" | head -10
    exit 1
  fi
done
echo "deterministic: ok ($(wc -c <"$dir/a") identical bytes, 3 runs)"
