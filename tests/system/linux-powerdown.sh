#!/usr/bin/env bash
# System test: the ACPI power button. The default guest (images/build-default.sh)
# boots to its shell with -nographic; the test switches to the monitor with
# Ctrl-A c and types system_powerdown. The PM1 power-button event reaches
# Linux's ACPI button driver, busybox's acpid runs the guest's handler,
# which prints its message, syncs and powers off (ACPI S5): bt86 must then
# exit by itself with status 0. Before the button, the guest must still be
# running (no spontaneous shutdown), and the button must be what stops it.
# On the way, the guest looks at the empty CD-ROM drive bt86 adds without
# -cdrom (as QEMU's PC does).
#   linux-powerdown.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need linux-powerdown "$img"
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000
guest_wait_prompt
# acpid must be up before the button is pressed.
send 'pidof acpid >/dev/null && echo ACPID-RUNNING; ls /dev/input/'
if ! grep -q '^ACPID-RUNNING' "$out"; then
  echo "linux-powerdown: acpid is not running in the guest (image built before the power button handler?)"
  exit 1
fi
# Without -cdrom the machine still has its (empty) CD-ROM drive: Linux's
# sr driver finds it and reading it fails with "No medium found".
send 'load-cdrom-drivers && cat /sys/block/sr0/device/model; dd if=/dev/sr0 of=/dev/null count=1' 300
kill -0 $pid 2>/dev/null || { echo "linux-powerdown: bt86 ended before the button"; tail -20 "$out"; exit 1; }
# Ctrl-A c: the monitor; the command; Ctrl-A c: back to the console.
printf '\001csystem_powerdown\r\001c' >&3
status=timeout
for _ in $(seq 1 300); do
  if ! kill -0 $pid 2>/dev/null; then
    wait $pid
    status=$?
    break
  fi
  sleep 1
done
sed -n '/bt86 guest/,$p' "$out"
check '^CD-ROM'
check "dd: can't open '/dev/sr0': No medium found"
check 'bt86 guest: power button pressed, shutting down'
check 'reboot: Power down'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:"
[ $fail = 0 ] && echo "linux-powerdown: ok"
exit $fail
