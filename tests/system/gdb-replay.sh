#!/usr/bin/env bash
# System test: Debian's gdb in batch mode against a replay (-icount
# shift=1,rrsnapshot-interval=1000000,rr=replay) of a short recording
# (SeaBIOS and the boot sector: -max-insns, no Linux boot), once per
# engine (interp, threaded, jit). Forward: a write watchpoint on the BIOS
# tick counter (0x46c: the second write, old and new values one apart), a
# breakpoint in the boot sector; writes to a register or to memory and a
# state-changing monitor command are refused (they would leave the
# recording). Reverse: stepi 25 then reverse-stepi 25 is back at the
# breakpoint with its registers; reverse-nexti goes back into the BIOS;
# with the watchpoint, reverse-continue stops at the last tick (the
# writing instruction, old/new one apart), again at the BIOS's first
# write, and continue stops after that write; reverse-continue past the
# only breakpoint hit reaches the start of the history ("No more
# reverse-execution history", at the reset vector). Continuing to the end
# of the recording stops there too; the replay still ends at the
# recorded count. A recording refuses -gdb. A Ctrl-C stops a long
# reverse-continue (a raw client, below).
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

# rrsnapshot-interval= takes a count > 0, and only for a replay.
for spec in "rrsnapshot-interval=0,rr=replay" "rrsnapshot-interval=x,rr=replay" \
  "rrsnapshot-interval=5,rr=record"; do
  if "$bt86" "${common[@]}" -icount "shift=1,$spec,rrfile=$dir/log" </dev/null >/dev/null 2>"$dir/bad.err" ||
    ! grep -q 'rrsnapshot-interval=' "$dir/bad.err"; then
    echo "gdb-replay: -icount shift=1,$spec was not refused:"; cat "$dir/bad.err"; fail=1
  fi
done

session() {
  local engine=$1 sock=$dir/gdb-$1.sock
  local gout=$dir/gdb-$engine.out err=$dir/replay-$engine.err
  "$bt86" "${common[@]}" -accel "$engine" -icount "shift=1,rrsnapshot-interval=1000000,rr=replay,rrfile=$dir/log" \
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
echo @reverse-stepi\n
info registers eip eax ebx ecx edx esp ebp esi edi eflags
x/16xb 0x7b68
x/16xb 0x7bb8
x/4xb 0x46c
echo @stepped\n
stepi 25
info registers eip eax ebx ecx edx esp ebp esi edi eflags
x/16xb 0x7b68
x/16xb 0x7bb8
x/4xb 0x46c
echo @back\n
reverse-stepi 25
info registers eip eax ebx ecx edx esp ebp esi edi eflags
x/16xb 0x7b68
x/16xb 0x7bb8
x/4xb 0x46c
echo @reverse-nexti\n
reverse-nexti
p/x \$eip
echo @reverse-continue\n
watch *(unsigned int *)0x46c
reverse-continue
p/x \$eip
reverse-continue
p/x \$eip
continue
p/x \$eip
delete
echo @begin\n
break *0x7c00
reverse-continue
p/x \$eip
continue
reverse-continue
p/x \$eip
p/x \$cs_base
delete
echo @end\n
continue
detach
EOF
  timeout 120 gdb -batch -nx -x "$dir/script.gdb" >"$gout" 2>&1
  wait $pid
  local rstatus=$?
  if [ $rstatus != 0 ]; then echo "gdb-replay $engine: bt86 exited with $rstatus"; tail -20 "$err"; fail=1; fi
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
  local fwd
  fwd=$(sed -n '/^@watch/,/^@refuse/p' "$gout")
  old=$(echo "$fwd" | grep -E '^Old value = ' | tail -1 | sed 's/.*= //')
  new=$(echo "$fwd" | grep -E '^New value = ' | tail -1 | sed 's/.*= //')
  if [ -z "$old" ] || [ "$new" != $((old + 1)) ]; then
    echo "gdb-replay $engine: watchpoint: old '$old', new '$new'"; fail=1
  fi
  gcheck '^No more reverse-execution history'
  # reverse-stepi 25 after stepi 25: back at the breakpoint with the
  # registers, stack bytes (0x7b68, 0x7bb8: the stepped code writes
  # there) and tick counter it had there.
  python3 - "$gout" "gdb-replay $engine" <<'PY' || fail=1
import re, sys
text = open(sys.argv[1]).read()
part = text.split('@reverse-stepi')[1].split('@reverse-nexti')[0]
at_bp, rest = part.split('@stepped')
fwd, back = rest.split('@back')
def regs(t):
    return {m.group(1): m.group(2) for m in re.finditer(r'^(e[a-z]+)\s+(0x[0-9a-f]+)', t, re.M)}
def mem(t):
    return re.findall(r'^0x[0-9a-f]+:\s+((?:0x[0-9a-f]{2}\s*)+)$', t, re.M)
ok = True
if len(regs(at_bp)) != 10 or regs(at_bp).get('eip') != '0x7c00' or len(mem(at_bp)) != 5:
    print(f"{sys.argv[2]}: the state at the breakpoint: {regs(at_bp)} {mem(at_bp)}"); ok = False
if regs(fwd) == regs(at_bp) or mem(fwd) == mem(at_bp):
    print(f"{sys.argv[2]}: stepi 25 changed no register or no stack byte"); ok = False
if regs(back) != regs(at_bp) or mem(back) != mem(at_bp):
    print(f"{sys.argv[2]}: after reverse-stepi 25: {regs(back)} {mem(back)}, not {regs(at_bp)} {mem(at_bp)}")
    ok = False
sys.exit(0 if ok else 1)
PY
  # reverse-nexti from the boot sector's first instruction: back in the
  # BIOS, which jumped there.
  if ! sed -n '/^@reverse-nexti/,/^@reverse-continue/p' "$gout" | grep -qE '^\$3 = 0x[0-9a-f]{4,5}$' ||
    sed -n '/^@reverse-nexti/,/^@reverse-continue/p' "$gout" | grep -q '^\$3 = 0x7c00$'; then
    echo "gdb-replay $engine: reverse-nexti did not go back"; fail=1
  fi
  # The tick counter going back: stops at the writing instruction, old
  # (later) and new (earlier) values one apart; the next reverse-continue
  # reaches the BIOS's first write of it; continuing forward stops after
  # that write again.
  local rev o1 n1
  rev=$(sed -n '/^@reverse-continue/,/^@begin/p' "$gout")
  o1=$(echo "$rev" | grep -m1 '^Old value = ' | sed 's/.*= //')
  n1=$(echo "$rev" | grep -m1 '^New value = ' | sed 's/.*= //')
  if [ -z "$o1" ] || [ "$o1" != $((n1 + 1)) ]; then
    echo "gdb-replay $engine: reverse-continue to a tick: old '$o1', new '$n1'"; fail=1
  fi
  if [ "$(echo "$rev" | grep -c '^Old value = ')" != 3 ]; then
    echo "gdb-replay $engine: reverse-continue, reverse-continue, continue: not three watchpoint stops"; fail=1
  fi
  if ! echo "$rev" | grep -q "^Old value = $n1$" || ! echo "$rev" | grep -q '^New value = 0$'; then
    echo "gdb-replay $engine: the second reverse-continue did not reach the first write"; fail=1
  fi
  # Back past the only breakpoint hit: the start of the history, at the
  # reset vector (twice: before and after a forward continue to it).
  local beg
  beg=$(sed -n '/^@begin/,/^@end/p' "$gout")
  if [ "$(echo "$beg" | grep -c '^No more reverse-execution history')" != 2 ] ||
    [ "$(echo "$beg" | grep -c '= 0xfff0$')" != 2 ] || ! echo "$beg" | grep -q '= 0xffff0000$' ||
    ! echo "$beg" | grep -qE '^Breakpoint [0-9]+, 0x0*7c00 in'; then
    echo "gdb-replay $engine: reverse-continue did not reach the start of the history"; fail=1
  fi
  if ! grep -q "^bt86: replay: $insns instructions, 0 input events, as recorded" "$err"; then
    echo "gdb-replay $engine: the replay did not end as recorded:"; cat "$err"; fail=1
  fi
  if [ "$fail" = 1 ]; then echo "--- gdb said:"; cat "$gout"; fi
}

for engine in interp threaded jit; do session $engine; done

# Ctrl-C during a reverse-continue (a raw client: gdb in batch mode cannot
# send one): at the end of the replay (interpreter, so the backward scan
# of 20 intervals takes a while), bc with no breakpoint would scan back to
# the start of the history; a Ctrl-C sent 50 ms after it stops it with
# T02 at a consistent point: where it began, or the start of an interval
# scanned in full (a snapshot's count); a second one 500 ms after another
# bc at the start of an interval further back (or where it began, or, on
# a fast host, the scan reached the start). From there `c` replays to the end of the
# recording at the recorded count.
"$bt86" "${common[@]}" -accel interp -icount "shift=1,rrsnapshot-interval=1000000,rr=replay,rrfile=$dir/log" \
  -S -gdb "unix:$dir/ctrlc.sock" </dev/null >/dev/null 2>"$dir/ctrlc.err" &
ctrlc_pid=$!
python3 - "$dir/ctrlc.sock" "$insns" <<'PY' || fail=1
import os, socket, sys, time
path, insns = sys.argv[1], int(sys.argv[2])
for _ in range(100):
    if os.path.exists(path): break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.settimeout(60)
buf = b''
def byte():
    global buf
    while not buf:
        buf = s.recv(4096)
        if not buf: raise EOFError
    b, buf = buf[:1], buf[1:]
    return b
def send(p):
    s.sendall(b'$%s#%02x' % (p, sum(p) & 0xFF))
    assert byte() == b'+'
def reply():
    """The next packet; O packets (console output) are collected."""
    out = b''
    while True:
        while byte() != b'$': pass
        p = b''
        while (c := byte()) != b'#': p += c
        byte(); byte()
        s.sendall(b'+')
        if p.startswith(b'O') and p != b'OK':
            out += bytes.fromhex(p[1:].decode())
            continue
        return p, out
def count():
    send(b'qRcmd,' + b'info jit'.hex().encode())
    _, out = reply()
    return int(out.split()[2])
ok = True
send(b'c')
r, _ = reply()
end = count()
if not r.startswith(b'T05replaylog:end') or end != insns:
    print(f"gdb-replay ctrl-c: continue gave {r} at {end}, not the end at {insns}"); ok = False
send(b'bc')
time.sleep(0.05)
t0 = time.time()
s.sendall(b'\x03')
r, _ = reply()
took = time.time() - t0
at = count()
print(f"gdb-replay ctrl-c: stopped at {at} after {took:.2f} s")
if not r.startswith(b'T02'):
    print(f"gdb-replay ctrl-c: the reverse-continue answered {r}, not T02"); ok = False
if not (at == end or (0 < at < end and at % 1000000 == 0)):
    print(f"gdb-replay ctrl-c: stopped at {at}: neither the start ({end}) nor a snapshot"); ok = False
# Again from there, the Ctrl-C later: the scan has gone past some
# intervals (a snapshot's count below the first stop), or on a loaded
# host not one yet (where it began), or on a fast host it reached the
# start of the history (count 0).
send(b'bc')
time.sleep(0.5)
s.sendall(b'\x03')
r, _ = reply()
at2 = count()
print(f"gdb-replay ctrl-c: the second one stopped at {at2} ({r})")
if not ((r.startswith(b'T02') and (at2 == at or (0 < at2 < at and at2 % 1000000 == 0))) or
        (r.startswith(b'T05replaylog:begin') and at2 == 0)):
    print(f"gdb-replay ctrl-c: the second reverse-continue answered {r} at {at2}"); ok = False
send(b'c')
r, _ = reply()
again = count()
if not r.startswith(b'T05replaylog:end') or again != end:
    print(f"gdb-replay ctrl-c: continue after the stop gave {r} at {again}, not the end at {end}"); ok = False
send(b'k')
sys.exit(0 if ok else 1)
PY
wait $ctrlc_pid 2>/dev/null
exit $fail
