#!/usr/bin/env bash
# System test: Debian's gdb drives bt86's GDB stub (-S -gdb unix:SOCKET) in
# batch mode against the default guest, once per engine (interp, threaded,
# jit): at reset EIP is 0xfff0 with CS base 0xffff0000 (the bytes at linear
# 0xfffffff0 are the BIOS's at 0xffff0); `set architecture i8086` stays in
# effect (16-bit disassembly); a breakpoint at 0x7c00 stops in the boot
# sector with the 0x55AA signature at 0x7dfe; stepi in real mode advances
# EIP by exactly the instruction's length and retires one instruction; a write watchpoint on the BIOS
# tick counter (0x46c) stops with the old and new values; `monitor info
# registers` prints; after detach the
# guest runs on (only the jit run waits for the shell prompt, so Linux
# boots once). In that run a second gdb attaches to the running Linux and
# watches kernel data (stack, IDT, and the variable jiffies at its address
# in images/out/System.map, which images/kernel-map.sh writes with the
# kernel's exported variables) with paging on.
#   gdb.sh BT86 [IMAGE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need gdb "$img"
if ! command -v gdb >/dev/null; then
  echo "gdb: skipped: gdb not installed (tests/install-deps.sh)"
  exit 77
fi

map=$(dirname "$img")/System.map
jiffies=
if [ -r "$map" ]; then
  jiffies=$(awk '$2 == "D" && $3 == "jiffies" {print $1; exit}' "$map")
  if [ -z "$jiffies" ]; then
    echo "gdb: $map has no jiffies (data symbols: rerun images/kernel-map.sh)"; fail=1
  fi
else
  echo "gdb: no $map (images/kernel-map.sh): the kernel variable is not watched"
fi

session() {
  local engine=$1 wait_shell=$2
  guest_name=gdb-$engine
  local sock syms=()
  sock=$(mktemp -d)/gdb.sock
  [ "$wait_shell" = 1 ] && [ -n "$jiffies" ] && syms=(-symbols "$map")
  guest_start "$bt86" -accel "$engine" -m 256 -hda "$img" -snapshot -nographic -no-reboot \
    -S -gdb "unix:$sock" "${syms[@]}"
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
  cat >"$dir/script.gdb" <<EOF
set pagination off
set confirm off
set architecture i8086
target remote $sock
echo @reset\n
p/x \$eip
p/x \$cs_base
x/8xb 0xffff0
x/8xb 0xfffffff0
x/1i 0xfff0
echo @boot\n
break *0x7c00
continue
p/x \$eip
x/2xb 0x7dfe
delete
echo @step\n
monitor info jit
x/2i 0x7c00
stepi
p/x \$eip
x/2i \$pc
stepi
p/x \$eip
x/2i \$pc
stepi
p/x \$eip
monitor info jit
echo @watch\n
watch *(unsigned int *)0x46c
continue
p/x \$eip
delete
echo @monitor\n
monitor info registers
echo @detach\n
detach
EOF
  timeout 60 gdb -batch -nx -x "$dir/script.gdb" >"$dir/gdb.out" 2>&1
  gout=$dir/gdb.out
  gcheck() { if ! grep -qE -- "$1" "$gout"; then echo "$guest_name: missing: $1"; fail=1; fi; }
  # At reset.
  gcheck '^\$1 = 0xfff0$'
  gcheck '^\$2 = 0xffff0000$'
  local a b
  a=$(grep -E '^0xffff0:' "$gout" | cut -f2-)
  b=$(grep -E '^0xfffffff0:' "$gout" | cut -f2-)
  if [ -z "$a" ] || [ "$a" != "$b" ]; then
    echo "$guest_name: the bytes at 0xffff0 ($a) and 0xfffffff0 ($b) differ"; fail=1
  fi
  # i8086 stays: 16-bit addressing in the disassembly.
  gcheck '0xfff0:.*\(%bx,%si\)'
  # The boot sector.
  gcheck '^Breakpoint 1, 0x0*7c00 in'
  gcheck '^\$3 = 0x7c00$'
  gcheck '^0x7dfe:[[:space:]]0x55[[:space:]]0xaa$'
  # stepi: each step lands where the disassembly said the next instruction
  # (or the jump's target) is.
  python3 - "$gout" "$guest_name" <<'PY' || fail=1
import re, sys
text = open(sys.argv[1]).read().split('@step')[1].split('@watch')[0]
lines = text.splitlines()
ok, checked = True, 0
for i, l in enumerate(lines):
    m = re.match(r'^(?:=> )?\s*0x([0-9a-f]+):\s*(\S+)\s*(.*)$', l)
    if not m or i + 1 >= len(lines):
        continue
    nxt = re.match(r'^(?:=> )?\s*0x([0-9a-f]+):', lines[i + 1])
    if not nxt:
        continue
    # The instruction at m, followed by the next one: the step's result
    # is the first "$N = 0x..." after them.
    after = [x for x in lines[i + 2:] if x.startswith('$')]
    if not after:
        continue
    got = int(after[0].split('=')[1], 16)
    addr, op, args = int(m.group(1), 16), m.group(2), m.group(3)
    if op.startswith('j'):
        want = int(args.split()[-1], 16)
    else:
        want = int(nxt.group(1), 16)
    if got != want:
        print(f"{sys.argv[2]}: stepi at {addr:#x} ({op} {args}) went to {got:#x}, not {want:#x}")
        ok = False
    checked += 1
if checked < 3:
    print(f"{sys.argv[2]}: only {checked} steps checked")
    ok = False
sys.exit(0 if ok else 1)
PY
  # Three steps retired exactly three instructions, under this engine.
  local counts
  counts=$(grep -E '^engine [a-z]+, [0-9]+ instructions$' "$gout" | awk '{print $2 $3}' | tr -d ',')
  if [ "$(echo "$counts" | sed -n 1p | tr -dc a-z)" != "$engine" ] ||
     [ $(( $(echo "$counts" | sed -n 2p | tr -dc 0-9) - $(echo "$counts" | sed -n 1p | tr -dc 0-9) )) != 3 ]; then
    echo "$guest_name: three stepi did not retire three instructions: $counts"; fail=1
  fi
  # The watchpoint on the tick counter: values one apart.
  gcheck '^Hardware watchpoint 2: \*\(unsigned int \*\)0x46c'
  local old new
  old=$(grep -m1 -E '^Old value = ' "$gout" | sed 's/.*= //')
  new=$(grep -m1 -E '^New value = ' "$gout" | sed 's/.*= //')
  if [ -z "$old" ] || [ "$new" != $((old + 1)) ]; then
    echo "$guest_name: watchpoint: old '$old', new '$new'"; fail=1
  fi
  gcheck '^EAX=[0-9a-f]{8} EBX='
  gcheck '^\[Inferior 1 \(Remote target\) detached\]'
  if [ "$fail" = 1 ]; then
    echo "--- gdb said:"; cat "$gout"; echo "--- bt86 said:"; tail -20 "$out"
  fi
  if [ "$wait_shell" = 1 ]; then
    guest_wait_prompt 600
    kernel_watch "$sock"
  fi
  exec 3>&-
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  rm -rf "$dir" "$(dirname "$sock")"
  trap - EXIT
}

# With Linux at its shell: a debugger attaches to the running guest (idle
# in the kernel, paging on) and watches kernel data by linear address:
# an access watchpoint on the idle task's stack (init_thread_union, which
# the next interrupt pushes onto), then 32 read watchpoints on the IDT
# gates of the external interrupts (idt_table, read when an interrupt is
# delivered): the legacy IRQ vectors 0x30-0x3F (the 8259's, and the I/O
# APIC's ISA lines) and 0xE0-0xEF (the local APIC timer's 0xEC: with the
# APIC, an idle kernel's only interrupts); then a write watchpoint on
# jiffies (its address from the System.map: Debian's kernel has only
# functions in kallsyms, so kernel-map.sh adds the exported variables),
# twice: each stop's value is above the one before, and bt86 (run with
# -symbols) names the variable and the writing code in an O packet.
# After detach the shell still answers.
kernel_watch() {
  local sock=$1
  cat >"$dir/kernel.gdb" <<EOF
set pagination off
set architecture i386
target remote $sock
p/x \$cr0 & 0x80000000
eval "awatch *(unsigned int *)0x%x", \$esp - 4
continue
delete
set \$v = 0x30
while \$v < 0x40
  eval "rwatch *(unsigned long long *)0x%x", \$idtr_base + 8 * \$v
  eval "rwatch *(unsigned long long *)0x%x", \$idtr_base + 8 * (\$v + 0xB0)
  set \$v = \$v + 1
end
continue
p/x \$cs & 3
delete
EOF
  if [ -n "$jiffies" ]; then
    cat >>"$dir/kernel.gdb" <<EOF
echo @jiffies\n
watch *(unsigned int *)0x$jiffies
continue
continue
delete
EOF
  fi
  cat >>"$dir/kernel.gdb" <<EOF
detach
EOF
  timeout 60 gdb -batch -nx -x "$dir/kernel.gdb" >"$dir/kernel.out" 2>&1
  gout=$dir/kernel.out
  gcheck '^\$1 = 0x80000000$'
  gcheck '^Hardware access \(read/write\) watchpoint 1: \*\(unsigned int \*\)0x[c-f]'
  gcheck '^Hardware read watchpoint 33: \*\(unsigned long long \*\)0x[c-f]'
  gcheck '^Value = '
  gcheck '^\$2 = 0x0$'
  gcheck '^\[Inferior 1 \(Remote target\) detached\]'
  if [ -n "$jiffies" ]; then
    gcheck "^Hardware watchpoint 34: \\*\\(unsigned int \\*\\)0x$jiffies"
    gcheck "^bt86: watch 0x$jiffies <jiffies\\+0x0>, next instruction [a-z_0-9.]+\\+0x[0-9a-f]+\$"
    # Old and new values of both stops: each above its old one (modulo
    # 2^32: jiffies starts 5 minutes before its wrap), the second stop's
    # old value the first one's new.
    local vals
    vals=$(sed -n '/^@jiffies/,$p' "$gout" | grep -E '^(Old|New) value = ' | sed 's/.*= //' | tr '\n' ' ')
    set -- $vals
    up() { local d=$((($2 - $1) & 0xffffffff)); [ "$d" -gt 0 ] && [ "$d" -lt $((0x80000000)) ]; }
    if [ $# -ne 4 ] || ! up "$1" "$2" || [ "$3" != "$2" ] || ! up "$3" "$4"; then
      echo "$guest_name: jiffies watchpoint: old/new values '$vals'"; fail=1
    fi
  fi
  send 'echo BT86-$((40+2))-ALIVE'
  check '^BT86-42-ALIVE'
  if [ "$fail" = 1 ]; then echo "--- gdb said:"; cat "$gout"; fi
}

session interp 0
session threaded 0
session jit 1
exit $fail
