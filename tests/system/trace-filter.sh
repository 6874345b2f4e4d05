#!/usr/bin/env bash
# -dfilter, -dfilter-cpl and -symbols on a short SeaBIOS run: a boot sector
# built here (hand-assembled, source in the comments) calls a function and
# halts with interrupts off. With -dfilter 0x7c00+0x200 every traced
# address lies in the boot sector and exactly its 6 instructions show; the
# BIOS's own range shows BIOS code only; -dfilter-cpl 3 shows nothing (real
# mode runs at CPL 0). A System.map for the boot sector makes the trace, the
# branch target and the halt report show function+offset; a malformed one is
# refused with its line number.
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "trace-filter: skipped: $bios not found"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# 7c00 cld; 7c01 call 7c10; 7c04 cli; 7c05 hlt; 7c06 jmp 7c04
# 7c10 mov ax,0x1234; 7c13 ret
code="fce80c00faf4ebfc0000000000000000b83412c3"
img=$dir/disk.img
printf "$(sed 's/../\\x&/g' <<<"$code")" > "$img"
head -c $((510 - ${#code} / 2)) /dev/zero >> "$img"
printf '\x55\xaa' >> "$img"
head -c $((512 * 2047)) /dev/zero >> "$img"
cat > "$dir/boot.map" <<'MAP'
00007c00 T boot_start
00007c04 T boot_halt
00007c10 t boot_helper
00007c14 T boot_end
MAP
run() { "$bt86" -bios "$bios" -hda "$img" -snapshot -display none -max-insns 50000000 "$@" </dev/null; }
fail=0
bad() { echo "trace-filter: $*"; fail=1; }
# The linear address of every traced instruction (the "(xxxxxxxx)" column).
addresses() { sed -n 's/^[0-9a-f]\{4\}:[0-9a-f]\{8\} (\([0-9a-f]\{8\}\)).*/\1/p' "$1"; }

run -d in_asm -dfilter 0x7c00+0x200 -D "$dir/boot.log" 2>"$dir/err1" || bad "bt86 failed (boot sector)"
n=0
for a in $(addresses "$dir/boot.log"); do
  n=$((n + 1))
  (( 0x$a >= 0x7c00 && 0x$a <= 0x7dff )) || bad "traced address $a outside 0x7c00+0x200"
done
[ "$n" -eq 6 ] || bad "expected the boot sector's 6 instructions, traced $n"
[ "$(wc -l < "$dir/boot.log")" -eq "$n" ] || bad "lines other than instructions in the trace"
grep -q '^0000:00007c10 (00007c10) b8 34 12 .*mov ax, 0x1234$' "$dir/boot.log" || bad "the called function was not traced"

run -d in_asm -dfilter 0xf0000..0xfffff,0xffff0000-0x10000 -D "$dir/bios.log" 2>/dev/null || bad "bt86 failed (BIOS)"
m=0
for a in $(addresses "$dir/bios.log"); do
  m=$((m + 1))
  (( (0x$a >= 0xf0000 && 0x$a <= 0xfffff) || 0x$a >= 0xffff0000 )) || { bad "BIOS trace holds $a"; break; }
done
[ "$m" -gt 1000 ] || bad "expected BIOS instructions in the BIOS's range, traced $m"

run -d in_asm,cpu,int -dfilter-cpl 3 -D "$dir/cpl3.log" 2>/dev/null || bad "bt86 failed (CPL 3)"
[ ! -s "$dir/cpl3.log" ] || bad "-dfilter-cpl 3 traced real-mode code"

run -d in_asm -dfilter 0x7c00+0x200 -symbols "$dir/boot.map" -D "$dir/sym.log" 2>"$dir/err2" || bad "bt86 failed (symbols)"
grep -q '^0000:00007c01 (00007c01) <boot_start+0x1> e8 0c 00 .*call 0x7c10 <boot_helper+0x0>$' "$dir/sym.log" ||
  bad "no symbol in the trace line or on the call's target"
grep -q '^0000:00007c05 (00007c05) <boot_halt+0x1> f4 ' "$dir/sym.log" || bad "no symbol on the hlt line"
grep -q 'the CPU halted with nothing left to wake it (at 0000:00007c06 <boot_halt+0x2>)' "$dir/err2" ||
  bad "the halt report lacks the symbol: $(cat "$dir/err2")"

printf '00007c00 T boot_start\n7c04 T\n' > "$dir/broken.map"
if "$bt86" -symbols "$dir/broken.map" -max-insns 1 2>"$dir/err3"; then bad "a malformed System.map was accepted"; fi
grep -q 'broken.map:2: expected' "$dir/err3" || bad "unclear error for a malformed map: $(cat "$dir/err3")"
if "$bt86" -dfilter 0x7c00+0 -max-insns 1 2>"$dir/err4"; then bad "-dfilter with size 0 was accepted"; fi
grep -q 'size is 0' "$dir/err4" || bad "unclear -dfilter error: $(cat "$dir/err4")"

head -3 "$dir/sym.log"
[ $fail -eq 0 ] && echo "trace-filter: 1 passed, 0 failed ($n boot-sector and $m BIOS instructions traced)" ||
  echo "trace-filter: 0 passed, 1 failed"
exit $fail
