#!/usr/bin/env bash
# System test: resets with Linux. The default guest boots to its shell;
# `reboot -f` makes the kernel reset the machine, which must come up again
# from SeaBIOS to a second shell (every device back at its power-on
# state, or the firmware or the kernel would trip over what the first
# boot left); then the monitor's system_reset (Ctrl-A c on -nographic)
# must do the same once more; finally `poweroff -f` ends bt86 with 0.
#   linux-reboot.sh BT86 [IMAGE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need linux-reboot "$img"
guest_start "$bt86" -m 128 -hda "$img" -snapshot -nographic
guest_wait_prompt

banners() { grep -ac "SeaBIOS (version" "$out"; }
# Wait (up to 600 s) for SeaBIOS's banner number $1 and then a new prompt.
wait_boot() {
  local n=$1 p t=0
  p=$(prompts)
  while [ "$(banners)" -lt "$n" ] || [ "$(prompts)" -le "$p" ]; do
    if ! kill -0 $pid 2>/dev/null || [ $t -ge 600 ]; then
      echo "linux-reboot: boot $n did not reach the shell; the guest printed:"; tail -30 "$out"
      exit 1
    fi
    sleep 1
    t=$((t + 1))
  done
}

send 'echo BOOT-$((0+1))'
printf 'reboot -f\n' >&3
wait_boot 2
send 'echo BOOT-$((1+1))'
printf '\001csystem_reset\r\001c' >&3
wait_boot 3
send 'echo BOOT-$((2+1))'
guest_poweroff

check '^BOOT-1'
check '^BOOT-2'
check '^BOOT-3'
check 'reboot: Restarting system'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction"
grep -a -E "^BOOT-|SeaBIOS \(version|reboot: " "$out" | sed 's/^.*SeaBIOS/SeaBIOS/'
[ $fail = 0 ] && echo "linux-reboot: ok"
exit $fail
