#!/usr/bin/env bash
# System test: direct kernel boot. bt86 loads the default guest's kernel and
# initramfs (images/build-default.sh) itself with -kernel/-initrd/-append
# (no disk, no boot loader), the guest reaches its shell on the serial
# console, answers a couple of commands (its command line must be the one we
# passed), finds the ACPI tables, and `poweroff` switches the machine off
# through ACPI S5: bt86 must then exit with status 0 on its own.
#   linux-kernel-boot.sh BT86 [VMLINUZ INITRD]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
top=$(dirname "$0")/../..
kernel=${2:-$top/images/out/vmlinuz}
initrd=${3:-$top/images/out/initrd.gz}
bios=/usr/share/seabios/bios.bin
if [ ! -r "$kernel" ] || [ ! -r "$initrd" ] || [ ! -r "$bios" ]; then
  if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then
    echo "linux-kernel-boot: $kernel, $initrd or $bios missing (run images/build-default.sh)"
    exit 1
  fi
  echo "linux-kernel-boot: skipped: $kernel not built (images/build-default.sh)"
  exit 77
fi
dir=$(mktemp -d)
out=$dir/out
mkfifo "$dir/in"
append="console=ttyS0,115200 panic=-1 quiet bt86test=kernel-boot"
"$bt86" -m 256 -kernel "$kernel" -initrd "$initrd" -append "$append" -nographic -no-reboot \
  -max-insns 40000000000 <"$dir/in" >"$out" 2>&1 &
pid=$!
exec 3>"$dir/in"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT

wait_for() {
  local limit=$1 text=$2 t=0
  while ! grep -qF -- "$text" "$out"; do
    if ! kill -0 $pid 2>/dev/null; then return 1; fi
    if [ $t -ge "$limit" ]; then return 1; fi
    sleep 1
    t=$((t + 1))
  done
}

if ! wait_for 900 "bt86:/# "; then
  echo "linux-kernel-boot: no shell prompt; the guest printed:"
  tail -40 "$out"
  exit 1
fi
prompts() { grep -o 'bt86:/# ' "$out" | wc -l; }
send() {
  local n t=0
  n=$(prompts)
  printf '%s\n' "$1" >&3
  while [ "$(prompts)" -le "$n" ] && [ $t -lt 120 ] && kill -0 $pid 2>/dev/null; do
    sleep 1
    t=$((t + 1))
  done
}
send 'uname -a'
send 'cat /proc/cmdline'
send 'ls /sys/firmware/acpi/tables/'
send 'cat /sys/bus/acpi/devices/LNXSYBUS:00/path'
# Power off through ACPI; bt86 must exit by itself, with status 0.
printf 'poweroff -f\n' >&3
status=timeout
for _ in $(seq 1 120); do
  if ! kill -0 $pid 2>/dev/null; then
    wait $pid
    status=$?
    break
  fi
  sleep 1
done
sed -n '/uname -a/,$p' "$out"

fail=0
check() { if ! grep -qE -- "$1" "$out"; then echo "linux-kernel-boot: missing: $1"; fail=1; fi; }
check '^Linux .* i686'
if ! tr -d '\r' <"$out" | grep -qxF -- "$append"; then
  echo "linux-kernel-boot: /proc/cmdline is not the -append string"; fail=1
fi
check 'DSDT.*FACP|FACP.*DSDT'
check '^\\_SB_'
# A kernel that merely halts would end bt86 with status 0 too: that must not be what happened.
if grep -qF "the CPU halted" "$out"; then
  echo "linux-kernel-boot: the machine halted instead of powering off (no ACPI power-off)"; fail=1
fi
if [ "$status" != 0 ]; then
  echo "linux-kernel-boot: after poweroff bt86 did not exit with status 0 (got: $status)"
  fail=1
fi
for bad in "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" "ACPI Error" \
    "ACPI BIOS Error" "Incorrect checksum"; do
  if grep -qF -- "$bad" "$out"; then
    echo "linux-kernel-boot: the guest reported '$bad'"; fail=1
  fi
done
[ $fail = 0 ] && echo "linux-kernel-boot: ok"
exit $fail
