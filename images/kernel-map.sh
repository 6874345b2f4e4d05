#!/usr/bin/env bash
# Write a System.map for the default guest's kernel (images/out/vmlinuz):
# Debian's kernel package carries only a placeholder System.map (the real
# one is in the much larger -dbg package), so the kernel's own symbol
# table is read instead: bt86 boots it directly with `nokaslr` (the kernel
# then stays at its link address, _text = 0xc1000000, at every boot that
# has `nokaslr`: the default image's boot loaders pass it) and the guest
# prints /proc/kallsyms (built-in functions; CONFIG_KALLSYMS_ALL is off).
# Variables come from the kernel's export table instead: the kernel image
# inside vmlinuz (xz) is an ELF file without symbols but with its sections,
# and __ksymtab/__ksymtab_gpl hold each exported symbol as two 32-bit
# offsets relative to the entry (value, name in __ksymtab_strings). Those
# not in text are added with the type of their section (D .data, B .bss,
# R .rodata): jiffies, init_task, boot_cpu_data and some 700 more. The
# exported functions must sit where kallsyms says (the same kernel).
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

# The exported variables: unpack the kernel (setup sectors at 0x1f1, the
# payload's offset and length at 0x248 and 0x24c of the setup header).
u8() { od -An -v -j "$2" -N 1 -t u1 "$1" | tr -d ' '; }
part() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=64K status=none; }
u32() { od -An -v -j "$2" -N 4 -t u4 "$1" | tr -d ' '; }
setup=$(u8 "$kernel" $((0x1f1)))
[ "$setup" != 0 ] || setup=4
payload=$(( (setup + 1) * 512 + $(u32 "$kernel" $((0x248))) ))
part "$kernel" $payload "$(u32 "$kernel" $((0x24c)))" |
  xz -dc --single-stream >"$work/vmlinux" 2>/dev/null ||
  { echo "kernel-map: cannot unpack $kernel (an xz-compressed kernel expected; xz-utils installed?)" >&2; exit 1; }
# Sections: NAME ADDR OFFSET SIZE TYPE (hex).
readelf -SW "$work/vmlinux" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk 'NF >= 5 {print $1, $3, $4, $5, $2}' >"$work/sections"
section() { awk -v n="$1" '$1 == n {print $2, $3, $4}' "$work/sections"; }
read -r str_addr str_off str_size < <(section __ksymtab_strings) ||
  { echo "kernel-map: $kernel has no __ksymtab_strings section" >&2; exit 1; }
{
  # "E VALUE NAMEADDR" per entry (struct kernel_symbol: value, name and
  # namespace offsets), then "S ADDR STRING" per string.
  for t in __ksymtab __ksymtab_gpl; do
    read -r a o s < <(section $t) || continue
    od -An -v -t d4 -w12 -j $((0x$o)) -N $((0x$s)) "$work/vmlinux" |
      awk -v base=$((0x$a)) 'NF == 3 {e = base + 12 * (NR - 1); printf "E %.0f %.0f\n", e + $1, e + 4 + $2}'
  done
  part "$work/vmlinux" $((0x$str_off)) $((0x$str_size)) | tr '\0' '\n' |
    awk -v base=$((0x$str_addr)) '{printf "S %.0f %s\n", base + pos, $0; pos += length($0) + 1}'
} | awk '
  function hex(s,   v, k) { v = 0; s = tolower(s); for (k = 1; k <= length(s); k++) v = v * 16 + index("0123456789abcdef", substr(s, k, 1)) - 1; return v }
  function kind(s) { if (s ~ /text/) return "T"; if (s == ".bss" || s == ".brk") return "B"; if (s ~ /^\.rodata/) return "R"; return "D" }
  FNR == NR { if ($5 == "PROGBITS" || $5 == "NOBITS") { n++; lo[n] = hex($2); hi[n] = lo[n] + hex($4); nm[n] = $1 } next }
  $1 == "E" { val[++m] = $2; at[m] = $3; need[$3] = 1; next }
  # A name may be the tail of a longer string (the linker merges them).
  $1 == "S" { for (k = 0; k < length($3); k++) { key = sprintf("%.0f", $2 + k); if (key in need) str[key] = substr($3, k + 1) } }
  END {
    for (j = 1; j <= m; j++) {
      if (!(at[j] in str)) continue
      for (i = 1; i <= n; i++) if (val[j] >= lo[i] && val[j] < hi[i]) { printf "%08x %s %s\n", val[j], kind(nm[i]), str[at[j]]; break }
    }
  }' "$work/sections" - >"$work/exports"
# The same kernel: its exported functions are where kallsyms has them.
same=$(awk 'NR == FNR {at[$3 " " $1] = 1; next} $2 == "T" && ($3 " " $1) in at {k++} END {print k + 0}' \
  "$work/System.map" "$work/exports")
if [ "$same" -lt 1000 ]; then
  echo "kernel-map: the export table of $kernel does not match the running kernel's kallsyms ($same functions agree)" >&2
  exit 1
fi
grep -v ' T ' "$work/exports" >>"$work/System.map" || true
d=$(grep -c ' [DBR] ' "$work/System.map" || true)
if ! grep -qE '^[0-9a-f]{8} D jiffies$' "$work/System.map"; then
  echo "kernel-map: no jiffies among the $d exported variables" >&2
  exit 1
fi
mv "$work/System.map" "$map"
echo "kernel-map: $map ($n functions, $d variables)"
