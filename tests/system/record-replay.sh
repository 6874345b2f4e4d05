#!/usr/bin/env bash
# System test: deterministic record/replay (-icount shift=1,rr=record|replay).
# Records a boot of the default guest and a typed session (each command
# typed when the host sees the previous prompt, so the input's instruction
# counts depend on host timing; -rtc base=utc, so the RTC start is the
# host's time), then replays the log under the other engine with no input
# at all: COM1's output must be identical byte for byte and the run must
# end at the same instruction count. A replay stopped early must say so; a
# recording ended by SIGTERM must replay; the monitor's sendkey and
# system_reset must be recorded and replayed; a SeaBIOS run under
# shift=auto (pace and idle decisions logged) must replay. Then a replay with another disk
# image and one with a damaged or truncated log must each stop with a
# clear message.
#   record-replay.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need record-replay "$img"
dir=$(mktemp -d)
out=$dir/out
mkfifo "$dir/in"
common=(-m 128 -hda "$img" -snapshot -nographic -max-insns 40000000000)
"$bt86" "${common[@]}" -accel jit -icount "shift=1,rr=record,rrfile=$dir/log" \
  <"$dir/in" >"$out" 2>"$dir/record.err" &
pid=$!
exec 3>"$dir/in"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
guest_wait_prompt 300
send 'echo hi; cat /proc/uptime; date'
send 'echo $((6 * 7)) >/tmp/x; cat /tmp/x'
guest_poweroff
check '^hi'
check '^42'
check_powered_off
rec_line=$(grep '^bt86: record:' "$dir/record.err")
if [ -z "$rec_line" ]; then echo "record-replay: no record summary:"; cat "$dir/record.err"; exit 1; fi
insns=$(echo "$rec_line" | sed -n 's/^bt86: record: \([0-9]*\) instructions.*/\1/p')
events=$(echo "$rec_line" | sed -n 's/.*instructions, \([0-9]*\) input events.*/\1/p')
if [ "${events:-0}" -lt 3 ]; then echo "record-replay: too few input events: $rec_line"; fail=1; fi

# The replay: the threaded engine, stdin closed (nothing typed).
"$bt86" "${common[@]}" -accel threaded -icount "shift=1,rr=replay,rrfile=$dir/log" \
  </dev/null >"$dir/replay.out" 2>"$dir/replay.err"
rstatus=$?
if [ $rstatus != 0 ]; then echo "record-replay: replay exited with $rstatus:"; cat "$dir/replay.err"; fail=1; fi
if ! grep -q "^bt86: replay: $insns instructions, $events input events, as recorded" "$dir/replay.err"; then
  echo "record-replay: replay did not end at instruction $insns:"; cat "$dir/replay.err"; fail=1
fi
if ! cmp -s "$out" "$dir/replay.out"; then
  echo "record-replay: the replay's output differs:"; diff "$out" "$dir/replay.out" | head -20; fail=1
fi

# A replay that stops before the recording's end says where each ended.
"$bt86" "${common[@]}" -max-insns 1000000000 -icount "shift=1,rr=replay,rrfile=$dir/log" \
  </dev/null >/dev/null 2>"$dir/early.err"
if [ $? = 0 ] || ! grep -q "^bt86: replay: the run ended at instruction 1000000000, the recording at $insns" "$dir/early.err"; then
  echo "record-replay: a replay ended early was not reported:"; cat "$dir/early.err"; fail=1
fi
# SIGTERM ends a recording with a complete log, which replays to the same count.
"$bt86" "${common[@]}" -icount "shift=1,rr=record,rrfile=$dir/term" </dev/null >/dev/null 2>"$dir/term.err" &
tpid=$!
sleep 2
kill -TERM $tpid
wait $tpid
tinsns=$(sed -n 's/^bt86: record: \([0-9]*\) instructions.*/\1/p' "$dir/term.err")
"$bt86" "${common[@]}" -icount "shift=1,rr=replay,rrfile=$dir/term" </dev/null >/dev/null 2>"$dir/term-replay.err"
if [ $? != 0 ] || [ -z "$tinsns" ] || ! grep -q "^bt86: replay: $tinsns instructions" "$dir/term-replay.err"; then
  echo "record-replay: a recording ended by SIGTERM did not replay:"; cat "$dir/term.err" "$dir/term-replay.err"; fail=1
fi

# The monitor while recording: sendkey (a press and a release) and
# system_reset are logged; the replay (jit) must reset the machine too,
# at the same count (SeaBIOS starts twice), and end where the recording did.
mkfifo "$dir/min"
"$bt86" "${common[@]}" -max-insns 4000000000 -icount "shift=1,rr=record,rrfile=$dir/mon" \
  <"$dir/min" >"$dir/mon.out" 2>"$dir/mon.err" &
mpid=$!
exec 4>"$dir/min"
sleep 1
printf '\001csendkey a\r' >&4
printf 'system_reset\r\001c' >&4
exec 4>&-
wait $mpid
"$bt86" "${common[@]}" -max-insns 4000000000 -icount "shift=1,rr=replay,rrfile=$dir/mon" \
  </dev/null >"$dir/mon-replay.out" 2>"$dir/mon-replay.err"
mstatus=$?
mline=$(sed -n 's/^bt86: record: \([0-9]*\) instructions, \([0-9]*\) input events.*/\1 \2/p' "$dir/mon.err")
if [ "${mline#* }" != 3 ] || [ $mstatus != 0 ] ||
   ! grep -q "^bt86: replay: ${mline% *} instructions, 3 input events, as recorded" "$dir/mon-replay.err" ||
   [ "$(grep -c 'SeaBIOS (version' "$dir/mon-replay.out")" != 2 ]; then
  echo "record-replay: the monitor's sendkey and system_reset did not replay:"
  cat "$dir/mon.err" "$dir/mon-replay.err"; grep -c 'SeaBIOS (version' "$dir/mon.out" "$dir/mon-replay.out"; fail=1
fi

# -icount shift=auto: the pace follows the host clock and the CPU sleeps
# on the host while SeaBIOS waits for the boot-menu key (-boot menu=on,
# about 2.5 s of host time); each pace change and idle skip is logged. The
# replay (jit, no sleeping) must print the same bytes and end at the same
# count with the same events, and there must have been both kinds.
"$bt86" "${common[@]}" -boot menu=on -max-insns 300000000 -icount "shift=auto,rr=record,rrfile=$dir/auto" \
  </dev/null >"$dir/auto.out" 2>"$dir/auto.err"
"$bt86" "${common[@]}" -boot menu=on -max-insns 300000000 -accel jit \
  -icount "shift=auto,rr=replay,rrfile=$dir/auto" </dev/null >"$dir/auto-replay.out" 2>"$dir/auto-replay.err"
astatus=$?
aline=$(sed -n 's/^bt86: record: \([0-9]*\) instructions, \([0-9]*\) input events.*/\1 \2/p' "$dir/auto.err")
if [ -z "$aline" ] || [ $astatus != 0 ] || ! cmp -s "$dir/auto.out" "$dir/auto-replay.out" ||
   ! grep -q "^bt86: replay: ${aline% *} instructions, ${aline#* } input events, as recorded" "$dir/auto-replay.err" ||
   ! grep -q 'Press ESC for boot menu' "$dir/auto.out"; then
  echo "record-replay: shift=auto did not replay:"; cat "$dir/auto.err" "$dir/auto-replay.err"
  cmp "$dir/auto.out" "$dir/auto-replay.out"; fail=1
fi
# Both kinds of decisions are in the log: event kinds 6 (pace) and 7
# (idle); each event is a kind byte, a u64 count, a u16 length and the
# payload, the last the end record (0xFF) and a u64 checksum.
if ! python3 - "$dir/auto" <<'PY'; then
import struct, sys
b = open(sys.argv[1], 'rb').read()
# The header's length varies: try each start until a chain of events
# reaches the end record and the checksum exactly.
for start in range(12, min(len(b), 4096)):
    pos, kinds = start, []
    while pos + 11 <= len(b):
        k, n = b[pos], struct.unpack_from('<H', b, pos + 9)[0]
        if k == 0xFF:
            break
        if k not in range(1, 8):
            pos = -1
            break
        kinds.append(k)
        pos += 11 + n
    if pos >= 0 and pos + 19 == len(b) and kinds:
        sys.exit(0 if 6 in kinds and 7 in kinds else 1)
sys.exit(1)
PY
  echo "record-replay: the shift=auto log lacks pace (6) or idle (7) events"; fail=1
fi

# Another disk image: a copy with one byte changed.
cp "$img" "$dir/other.img"
printf 'X' | dd of="$dir/other.img" bs=1 seek=1000000 conv=notrunc status=none
"$bt86" -m 128 -hda "$dir/other.img" -snapshot -nographic -icount "shift=1,rr=replay,rrfile=$dir/log" \
  </dev/null >/dev/null 2>"$dir/other.err"
if [ $? = 0 ] || ! grep -q "^bt86: replay: -hda differs from the recorded one" "$dir/other.err"; then
  echo "record-replay: a replay with another disk was not refused:"; cat "$dir/other.err"; fail=1
fi
# Another CPU model (the log was made with the default, max).
"$bt86" "${common[@]}" -cpu coreduo -icount "shift=1,rr=replay,rrfile=$dir/log" </dev/null >/dev/null 2>"$dir/cpu.err"
if [ $? = 0 ] || ! grep -q "^bt86: replay: recorded with -cpu max, replaying with -cpu coreduo" "$dir/cpu.err"; then
  echo "record-replay: a replay with another -cpu was not refused:"; cat "$dir/cpu.err"; fail=1
fi
# A damaged log: one byte flipped in the middle, then a truncated log.
cp "$dir/log" "$dir/bad"
size=$(stat -c %s "$dir/bad")
printf '\377' | dd of="$dir/bad" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$bt86" "${common[@]}" -icount "shift=1,rr=replay,rrfile=$dir/bad" </dev/null >/dev/null 2>"$dir/bad.err"
if [ $? = 0 ] || ! grep -q "^bt86: replay: corrupt log" "$dir/bad.err"; then
  echo "record-replay: a damaged log was not refused:"; cat "$dir/bad.err"; fail=1
fi
head -c $((size - 20)) "$dir/log" >"$dir/short"
"$bt86" "${common[@]}" -icount "shift=1,rr=replay,rrfile=$dir/short" </dev/null >/dev/null 2>"$dir/short.err"
if [ $? = 0 ] || ! grep -q "^bt86: replay: the log is truncated" "$dir/short.err"; then
  echo "record-replay: a truncated log was not refused:"; cat "$dir/short.err"; fail=1
fi
[ $fail = 0 ] && echo "record-replay: ok ($insns instructions, $events input events, $(wc -c <"$out") identical bytes)"
exit $fail
