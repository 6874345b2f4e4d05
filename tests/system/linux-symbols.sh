#!/usr/bin/env bash
# -symbols with the default guest's kernel. Debian's kernel package has no
# real System.map and the kernel uses KASLR (docs/debugging.md), so
# images/kernel-map.sh boots it once directly with `nokaslr` (the kernel
# then stays at its link address) and saves the guest's /proc/kallsyms
# (built-in symbols) as a System.map (here into a temporary file, which
# also tests that script); the test then boots the kernel again for 3
# billion instructions with
# -symbols that map and `-d int -dfilter 0xc1000000..0xc1ffffff` (events
# only: the jit keeps running). Every traced interrupt or exception must
# lie in the kernel's text and show as function+offset, and each of those
# must be the map's own entry (the function's address plus the offset is
# the traced address).
#   linux-symbols.sh BT86
bt86=$1
imgdir=$(dirname "$0")/../../images/out
. "$(dirname "$0")/guest.sh"
guest_need linux-symbols "$imgdir/vmlinuz" "$imgdir/initrd.gz"
append="console=ttyS0,115200 nokaslr quiet panic=-1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
map=$dir/kernel.map
"$(dirname "$0")/../../images/kernel-map.sh" "$bt86" "$map" || { echo "linux-symbols: images/kernel-map.sh failed"; exit 1; }
n=$(wc -l <"$map")
if [ "$n" -lt 10000 ] || ! grep -q '^c1000000 T _text$' "$map"; then
  echo "linux-symbols: no usable /proc/kallsyms ($n lines, _text at c1000000 expected)"
  exit 1
fi
log=$dir/int.log
"$bt86" -m 256 -kernel "$imgdir/vmlinuz" -initrd "$imgdir/initrd.gz" -append "$append" \
  -display none -symbols "$map" -d int -dfilter 0xc1000000..0xc1ffffff -D "$log" \
  -max-insns 3000000000 </dev/null >/dev/null 2>"$dir/err" || { echo "linux-symbols: bt86 failed: $(cat "$dir/err")"; exit 1; }
# "interrupt 0x30 at 0060:c14a8ae0 (CPL 0) <mpihelp_addmul_1+0x90>"
events=0
while read -r addr name off; do
  events=$((events + 1))
  (( 0x$addr >= 0xc1000000 && 0x$addr <= 0xc1ffffff )) || { echo "linux-symbols: $addr outside the filter"; fail=1; }
  start=$(printf '%08x' $(( 0x$addr - off )))
  grep -q "^$start [a-zA-Z] $name\$" "$map" || { echo "linux-symbols: $addr shown as $name+$off, not in the map"; fail=1; }
done < <(sed -n 's/.* at [0-9a-f]\{4\}:\([0-9a-f]\{8\}\) (CPL [0-3]) <\([^+>]*\)+\(0x[0-9a-f]*\)>$/\1 \2 \3/p' "$log")
lines=$(wc -l <"$log")
[ "$events" -gt 0 ] || { echo "linux-symbols: no kernel event traced"; fail=1; }
[ "$events" -eq "$lines" ] || { echo "linux-symbols: $((lines - events)) of $lines lines without a symbol"; fail=1; }
head -3 "$log"
[ $fail -eq 0 ] && echo "linux-symbols: 1 passed, 0 failed ($n symbols, $events kernel events with symbols)" ||
  echo "linux-symbols: 0 passed, 1 failed"
exit $fail
