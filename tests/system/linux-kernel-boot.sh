#!/usr/bin/env bash
# System test: direct kernel boot. bt86 loads the default guest's kernel and
# initramfs (images/build-default.sh) itself with -kernel/-initrd/-append
# (no disk, no boot loader), the guest reaches its shell on the serial
# console, answers a couple of commands (its command line must be the one we
# passed), finds the ACPI tables, and `poweroff` switches the machine off
# through ACPI S5: bt86 must then exit with status 0 on its own. It runs
# with -cpu pentium2 (the machine bt86 was before CPU models; the other
# Linux tests boot on the default, max): the kernel must see no PAE and no
# NX there.
#   linux-kernel-boot.sh BT86 [VMLINUZ INITRD]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
top=$(dirname "$0")/../..
kernel=${2:-$top/images/out/vmlinuz}
initrd=${3:-$top/images/out/initrd.gz}
. "$(dirname "$0")/guest.sh"
guest_need linux-kernel-boot "$kernel" "$initrd"
append="console=ttyS0,115200 panic=-1 quiet bt86test=kernel-boot"
guest_start "$bt86" -cpu pentium2 -m 256 -kernel "$kernel" -initrd "$initrd" -append "$append" -nographic -no-reboot \
  -max-insns 40000000000
guest_wait_prompt
send 'uname -a'
send 'cat /proc/cmdline'
send 'ls /sys/firmware/acpi/tables/'
send 'cat /sys/bus/acpi/devices/LNXSYBUS:00/path'
send 'echo "pae-nx-flags: $(grep -m1 ^flags /proc/cpuinfo | grep -c -w -e pae -e nx)"'
send 'grep -m1 "model name" /proc/cpuinfo'
guest_poweroff
sed -n '/uname -a/,$p' "$out"

check '^Linux .* i686'
if ! tr -d '\r' <"$out" | grep -qxF -- "$append"; then
  echo "linux-kernel-boot: /proc/cmdline is not the -append string"; fail=1
fi
check 'DSDT.*FACP|FACP.*DSDT'
check '^\\_SB_'
check '^pae-nx-flags: 0' # no pae, no nx in the pentium2's flags
check '^model name.*Pentium II'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" "ACPI Error" \
  "ACPI BIOS Error" "Incorrect checksum"
[ $fail = 0 ] && echo "linux-kernel-boot: ok"
exit $fail
