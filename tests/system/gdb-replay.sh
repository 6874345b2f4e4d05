#!/usr/bin/env bash
# System test: Debian's gdb in batch mode against a replay (-icount
# shift=1,rr=replay) of a short recording (SeaBIOS and the boot sector:
# -max-insns, no Linux boot), once per engine (interp, threaded, jit):
# the debugger reads registers and memory, stops at a breakpoint in the
# boot sector and at a write watchpoint on the BIOS tick counter (0x46c:
# the second write, old and new values one apart); writes to a register or to memory and a
# state-changing monitor command are refused (they would leave the
# recording); continuing to the end of the recording stops with GDB's "no
# more history"; the replay still ends at the recorded count. A recording
# refuses -gdb.
#   gdb-replay.sh BT86 [IMAGE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need gdb-replay "$img"
if ! command -v gdb >/dev/null; then
  echo "gdb-replay: skipped: gdb not installed (tests/install-deps.sh)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
insns=20000000
common=(-m 32 -hda "$img" -snapshot -nographic)
if ! "$bt86" "${common[@]}" -max-insns $insns -accel jit -icount "shift=1,rr=record,rrfile=$dir/log" \
  </dev/null >/dev/null 2>"$dir/record.err"; then
  echo "gdb-replay: the recording failed:"; cat "$dir/record.err"; exit 1
fi

# A debugger may only look at a replay: a recording refuses it.
if "$bt86" "${common[@]}" -max-insns 1000 -icount "shift=1,rr=record,rrfile=$dir/no" -gdb "unix:$dir/no.sock" \
  </dev/null >/dev/null 2>"$dir/no.err" || ! grep -q 'rr=record does not go with -gdb' "$dir/no.err"; then
  echo "gdb-replay: a recording with -gdb was not refused:"; cat "$dir/no.err"; fail=1
fi

session() {
  local engine=$1 sock=$dir/gdb-$1.sock
  local gout=$dir/gdb-$engine.out err=$dir/replay-$engine.err
  "$bt86" "${common[@]}" -accel "$engine" -icount "shift=1,rr=replay,rrfile=$dir/log" \
    -S -gdb "unix:$sock" </dev/null >/dev/null 2>"$err" &
  local pid=$!
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
  cat >"$dir/script.gdb" <<EOF
set pagination off
set confirm off
set architecture i8086
target remote $sock
echo @watch\n
watch *(unsigned int *)0x46c
continue
continue
delete
break *0x7c00
continue
p/x \$eip
x/2xb 0x7dfe
delete
echo @refuse\n
python
for cmd in ("set \$eax = 5", "set {char}0x7c00 = 1", "monitor system_reset"):
    try:
        gdb.execute(cmd)
        print("@allowed: " + cmd)
    except gdb.error as e:
        print("@refused: " + cmd)
end
p/x *(unsigned char *)0x7c00
monitor info registers
echo @end\n
continue
kill
EOF
  timeout 120 gdb -batch -nx -x "$dir/script.gdb" >"$gout" 2>&1
  wait $pid
  gcheck() { if ! grep -qE -- "$1" "$gout"; then echo "gdb-replay $engine: missing: $1"; fail=1; fi; }
  gcheck '^Breakpoint 2, 0x0*7c00 in'
  gcheck '^\$1 = 0x7c00$'
  gcheck '^0x7dfe:[[:space:]]0x55[[:space:]]0xaa$'
  gcheck '^@refused: set \$eax = 5$'
  gcheck '^@refused: set \{char\}0x7c00 = 1$'
  gcheck '^@refused: monitor system_reset$'
  if grep -q '^@allowed' "$gout"; then echo "gdb-replay $engine: a change was allowed"; fail=1; fi
  gcheck '^EAX=[0-9a-f]{8} EBX='
  local old new
  old=$(grep -E '^Old value = ' "$gout" | tail -1 | sed 's/.*= //')
  new=$(grep -E '^New value = ' "$gout" | tail -1 | sed 's/.*= //')
  if [ -z "$old" ] || [ "$new" != $((old + 1)) ]; then
    echo "gdb-replay $engine: watchpoint: old '$old', new '$new'"; fail=1
  fi
  gcheck '^No more reverse-execution history'
  if ! grep -q "^bt86: replay: $insns instructions, 0 input events, as recorded" "$err"; then
    echo "gdb-replay $engine: the replay did not end as recorded:"; cat "$err"; fail=1
  fi
  if [ "$fail" = 1 ]; then echo "--- gdb said:"; cat "$gout"; fi
}

for engine in interp threaded jit; do session $engine; done
exit $fail
