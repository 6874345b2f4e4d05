#!/usr/bin/env bash
# Write a System.map for the default guest's kernel (images/out/vmlinuz):
# Debian's kernel package carries only a placeholder System.map (the real
# one is in the much larger -dbg package), so the kernel's own symbol
# table is read instead: bt86 boots it directly with `nokaslr` (the kernel
# then stays at its link address, _text = 0xc1000000, at every boot that
# has `nokaslr`: the default image's boot loaders pass it) and the guest
# prints /proc/kallsyms (built-in functions; CONFIG_KALLSYMS_ALL is off).
# About 20 seconds with the jit.
#   images/kernel-map.sh BT86 [OUTPUT]     (default OUTPUT: images/out/System.map)
# Nothing is done when OUTPUT is newer than the kernel and this script.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BT86 [OUTPUT]" >&2; exit 2; }
bt86=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/vmlinuz
initrd=$here/out/initrd.gz
map=${2:-$here/out/System.map}
for f in "$kernel" "$initrd"; do
  [ -r "$f" ] || { echo "kernel-map: $f missing (run images/build-default.sh)" >&2; exit 1; }
done
if [ -s "$map" ] && [ "$map" -nt "$kernel" ] && [ "$map" -nt "$0" ]; then exit 0; fi
work=$(mktemp -d)
pid=
cleanup() { exec 3>&- 2>/dev/null || true; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkfifo "$work/in"
"$bt86" -m 256 -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0,115200 nokaslr quiet panic=-1" \
  -nographic -no-reboot -monitor none -max-insns 40000000000 <"$work/in" >"$work/out" 2>&1 &
pid=$!
exec 3>"$work/in"
# Wait for the shell (up to 10 minutes of host time), then print and power off.
for _ in $(seq 1 600); do
  grep -qF 'bt86:/# ' "$work/out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
grep -qF 'bt86:/# ' "$work/out" || { echo "kernel-map: the guest gave no shell prompt" >&2; tail -20 "$work/out" >&2; exit 1; }
printf '%s\n' "grep -v '\\[' /proc/kallsyms; poweroff -f" >&3
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then echo "kernel-map: the guest did not power off" >&2; exit 1; fi
pid=
tr -d '\r' <"$work/out" | grep -E '^[0-9a-f]{8} [a-zA-Z] [^ ]+$' >"$work/System.map" || true
n=$(wc -l <"$work/System.map")
if [ "$n" -lt 10000 ] || ! grep -q '^c1000000 T _text$' "$work/System.map"; then
  echo "kernel-map: /proc/kallsyms gave no usable map ($n lines; _text at c1000000 expected)" >&2
  exit 1
fi
mv "$work/System.map" "$map"
echo "kernel-map: $map ($n symbols)"
