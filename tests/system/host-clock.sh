#!/usr/bin/env bash
# System test: without -icount virtual time follows the host clock. The
# default guest boots to its shell; then
#   - `sleep 2` in the guest must take between 1.5 and 10 seconds of host
#     time (with the instruction-derived clock an idle guest skips ahead
#     and it would take a fraction of a second);
#   - the guest idling at its prompt for 3 host seconds must cost bt86 well
#     under half of that in CPU time (it sleeps on the host while halted);
#   - the guest's clock (RTC at power-on, then its own timekeeping on the
#     PIT/TSC) must agree with the host's within 10 seconds.
# Then the same pacing checks with -icount auto (instruction-derived time
# whose rate adapts to the host clock; an idle guest sleeps).
# Loose bounds: this checks pacing, not speed.
#   host-clock.sh BT86 [IMAGE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need host-clock "$img"
guest_start "$bt86" -m 128 -hda "$img" -snapshot -nographic -no-reboot
guest_wait_prompt

now() { date +%s.%N; }
# The guest sleeps 2 s; then it idles for 3 s.
pacing_checks() {
  t0=$(now)
  printf '%s\n' 'sleep 2; echo SLEPT-$((1+1))' >&3
  for _ in $(seq 1 300); do grep -q "^SLEPT-2" "$out" && break; sleep 0.1; done
  t1=$(now)
  if ! grep -q "^SLEPT-2" "$out"; then
    echo "host-clock: 'sleep 2' did not finish within 30 s"; fail=1
  elif ! awk -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" 'BEGIN{exit !(d >= 1.5 && d <= 10)}'; then
    echo "host-clock: 'sleep 2' in the guest took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') host seconds"
    fail=1
  else
    echo "host-clock: 'sleep 2' took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') host seconds"
  fi
  sleep 1 # let the prompt come back

  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  c0=$(cpu)
  sleep 3
  c1=$(cpu)
  tck=$(getconf CLK_TCK)
  used=$(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN{printf "%.2f", (b-a)/t}')
  if awk -v u="$used" 'BEGIN{exit !(u < 1.5)}'; then
    echo "host-clock: idle guest: $used s of CPU time in 3 s"
  else
    echo "host-clock: idle guest used $used s of CPU time in 3 s (should sleep while halted)"; fail=1
  fi
}
pacing_checks

send 'echo GUEST-TIME-$(date +%s)'
guest=$(sed -n 's/^GUEST-TIME-\([0-9]*\).*/\1/p' "$out" | head -1)
host=$(date +%s)
if [ -z "$guest" ] || [ $((host - guest)) -gt 10 ] || [ $((guest - host)) -gt 10 ]; then
  echo "host-clock: guest time '$guest', host time $host"; fail=1
else
  echo "host-clock: guest and host clocks agree ($((guest - host)) s)"
fi

guest_poweroff
check_powered_off

echo "host-clock: -icount auto:"
rm -rf "$dir"
guest_start "$bt86" -m 128 -hda "$img" -snapshot -nographic -no-reboot -icount auto
guest_wait_prompt
pacing_checks
guest_poweroff
check_powered_off
[ $fail = 0 ] && echo "host-clock: ok"
exit $fail
