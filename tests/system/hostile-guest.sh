#!/usr/bin/env bash
# System test: a hostile guest (tests/hostile/README.md) cannot crash or
# hang bt86. For each seed, the project's own ROM (no SeaBIOS) hammers
# every device from a pseudo-random sequence in protected mode (IDE and
# ATAPI with string I/O of random lengths, VGA registers, DISPI modes and
# video memory, PCI configuration with BARs moved over RAM and over each
# other, fw_cfg DMA descriptors pointing anywhere, UARTs, 8042, PIT, PIC,
# CMOS, ACPI, random ports, RAM that DMA reads). While it runs the test
# asks the monitor for `info registers` and `info jit` and checks the
# answers arrive; at the end the guest prints its completion line on the
# debug console and waits for the power button, which the monitor's
# system_powerdown presses: the guest then powers off through ACPI.
#
# Accepted per seed: the completion line with the full iteration count and
# a power-off (exit status 0); or, mid-run, a reset with -no-reboot
# ("the guest reset the machine") or a halted CPU, each with bt86's own
# one-line message and exit status 0. Never: a sanitizer report, another
# exit status, or bt86 still running after a generous limit (a hang).
# At least one seed must complete (the fixed CI seeds all do).
#
#   hostile-guest.sh BT86 ROM
# Environment (tests/hostile/many-seeds.sh sets them for long runs):
#   HOSTILE_SEEDS       seeds "SEED[:FLAGS] ..." (flags: 1 reset lines, 2 aim at itself)
#   HOSTILE_ITERATIONS  iterations per seed (default 40000)
#   HOSTILE_LIMIT       seconds before bt86 counts as hung (default 120)
bt86=$1
rom=$2
if [ -z "$rom" ] || [ ! -r "$rom" ]; then
  echo "hostile-guest: skipped: the hostile ROM was not built (binutils missing?)"
  exit 77
fi
seeds=${HOSTILE_SEEDS:-"1 2 3 4 5:1 6:2"}
iterations=${HOSTILE_ITERATIONS:-40000}
limit=${HOSTILE_LIMIT:-120}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
trap '' PIPE # bt86 may end before it reads the monitor's pipe: a failed echo, not a dead script
fail=0
completed=0

# patch ROM OUT SEED ITERATIONS FLAGS: the parameter block at offset 16.
patch_rom() {
  python3 - "$@" <<'PY'
import struct, sys
rom, out, seed, iters, flags = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
data = bytearray(open(rom, 'rb').read())
assert data[:16] == b'BT86HOSTILE-PARM', 'not the hostile ROM'
data[16:28] = struct.pack('<III', seed, iters, flags)
open(out, 'wb').write(data)
PY
}

# wait_for FILE TEXT SECONDS: TEXT in FILE, or bt86 gone, or the time up.
wait_for() {
  for _ in $(seq 1 $((${3} * 5))); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  grep -qF -- "$2" "$1" 2>/dev/null
}

for item in $seeds; do
  seed=${item%%:*}
  flags=0
  [ "$item" != "$seed" ] && flags=${item#*:}
  run=$tmp/$seed
  mkdir -p "$run"
  patch_rom "$rom" "$run/rom.bin" "$seed" "$iterations" "$flags" || { fail=1; continue; }
  mkfifo "$run/mon"
  # Deterministic time (-icount) and RTC: a failing seed replays the same way.
  "$bt86" -m 32 -bios "$run/rom.bin" -display none -no-reboot -monitor stdio \
    -icount shift=3 -rtc base=2020-01-01 -debugcon "file:$run/debug.log" \
    -serial "file:$run/serial.log" <"$run/mon" >"$run/monitor.out" 2>"$run/stderr" &
  pid=$!
  exec 3>"$run/mon"
  if wait_for "$run/debug.log" "iteration 4096" "$limit"; then
    echo "info registers" >&3 2>/dev/null
    echo "info jit" >&3 2>/dev/null
    # (A guest that resets the machine may end bt86 before it reads the
    # commands: judged below by bt86's message.)
    if { ! wait_for "$run/monitor.out" "EIP=" "$limit" || ! wait_for "$run/monitor.out" "engine" 30; } &&
      kill -0 $pid 2>/dev/null; then
      echo "hostile-guest: seed $seed: the monitor did not answer while the guest ran"
      fail=1
    fi
  fi
  done_line="hostile: done seed $seed iterations $iterations"
  if wait_for "$run/debug.log" "$done_line" "$limit"; then
    wait_for "$run/debug.log" "waiting for the power button" 30
    echo "system_powerdown" >&3 2>/dev/null
  fi
  for _ in $(seq 1 $((limit * 5))); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  exec 3>&-
  if kill -0 $pid 2>/dev/null; then
    echo "hostile-guest: seed $seed: bt86 still running after ${limit}s (hung); debug console:"
    tail -3 "$run/debug.log"
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
    pid=
    fail=1
    continue
  fi
  wait $pid
  status=$?
  pid=
  if grep -qE "Sanitizer|runtime error|Segmentation|Aborted|internal error" "$run/stderr"; then
    echo "hostile-guest: seed $seed: bt86 reported an error (exit status $status):"
    head -40 "$run/stderr"
    fail=1
  elif [ $status -ne 0 ]; then
    echo "hostile-guest: seed $seed: exit status $status:"
    head -20 "$run/stderr"
    fail=1
  elif grep -qF "$done_line" "$run/debug.log"; then
    if grep -qF "still running after SLP_EN" "$run/debug.log"; then
      echo "hostile-guest: seed $seed: the ACPI power-off did not end bt86"
      fail=1
    elif ! grep -qF "EIP=" "$run/monitor.out" || ! grep -qF "engine" "$run/monitor.out"; then
      echo "hostile-guest: seed $seed: completed, but the monitor's answers are missing"
      fail=1
    else
      completed=$((completed + 1))
      echo "hostile-guest: seed $seed flags $flags: $iterations iterations, monitor answered, powered off"
    fi
  elif grep -qE "the guest reset the machine \(-no-reboot: exiting\)|the CPU halted with nothing left" \
    "$run/stderr" && [ "$(wc -l <"$run/stderr")" -le 2 ]; then
    echo "hostile-guest: seed $seed flags $flags: ended early: $(head -1 "$run/stderr")" \
      "($(grep -c " iteration " "$run/debug.log") progress lines)"
  else
    echo "hostile-guest: seed $seed flags $flags: bt86 ended without its completion line or a" \
      "clear message; stderr:"
    head -20 "$run/stderr"
    tail -3 "$run/debug.log"
    fail=1
  fi
done
if [ $completed = 0 ]; then
  echo "hostile-guest: no seed completed"
  fail=1
fi
[ $fail = 0 ] && echo "hostile-guest: ok ($completed seed(s) completed)"
exit $fail
