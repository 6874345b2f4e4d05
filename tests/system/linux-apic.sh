#!/usr/bin/env bash
# System test: the default guest (images/build-default.sh) boots with the
# local APIC, the I/O APIC and the HPET, and the Debian 686 kernel uses
# them: its log shows the I/O APIC routing (MADT's IOAPIC[0], the timer
# check through the I/O APIC), /proc/interrupts lists IO-APIC lines, the
# local APIC timer's count (LOC) grows between two reads, the serial port's
# interrupt arrives through the I/O APIC, and the HPET is an available
# clocksource; CPUID's TSC-deadline bit (the default -cpu max) makes the
# kernel program the local APIC timer through IA32_TSC_DEADLINE (its
# clock event device is lapic-deadline). One Linux boot.
#   linux-apic.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need linux-apic "$img"
# -icount: deterministic time, so the kernel's check of the APIC timer's
# rate against the PM timer is exact (under the host clock, a loaded host
# delays the first calibration tick and Linux warns about 96 ms for 100).
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -icount shift=1 \
  -max-insns 40000000000
guest_wait_prompt
send 'dmesg | grep -E "IOAPIC|APIC|TIMER|hpet|HPET|clocksource|IO-APIC"'
send 'grep -E "LOC|IO-APIC|timer" /proc/interrupts > /tmp/i1; cat /tmp/i1'
send 'cat /sys/devices/system/clocksource/clocksource0/available_clocksource'
send 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource'
send 'grep -o -m1 tsc_deadline_timer /proc/cpuinfo'
send 'cat /sys/devices/system/clockevents/clockevent0/current_device'
send 'sleep 1; grep LOC /proc/interrupts'
guest_poweroff
sed -n '/bt86 guest/,$p' "$out"

check 'IOAPIC\[0\]: apic_id 0, version 17, address 0xfec00000, GSI 0-23'
check '(\.\.TIMER: vector=0x[0-9a-fA-F]+ apic1=0 pin1=2|Using IOAPIC for interrupt routing)'
check 'ACPI: HPET id: 0x8086a201 base: 0xfed00000'
check '^ *[0-9]+: +[0-9]+ +IO-APIC +2-edge +timer'
check '^ *4: +[1-9][0-9]* +IO-APIC +4-edge +ttyS0'
check '^available.*hpet|hpet.*tsc|tsc.*hpet'
check '^tsc_deadline_timer'
check '^lapic-deadline'
# LOC: the first read (saved in /tmp/i1) and the one a second later.
loc=$(grep -aE '^ *LOC: +[0-9]+' "$out" | awk '{print $2}')
first=$(echo "$loc" | sed -n 1p)
second=$(echo "$loc" | sed -n 2p)
if [ -z "$first" ] || [ -z "$second" ] || [ "$second" -le "$first" ] || [ "$first" -le 0 ]; then
  echo "linux-apic: local APIC timer interrupts (LOC) do not grow: '$first' then '$second'"
  fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "TSC found unstable" "IO-APIC + timer doesn't work" "APIC calibration not consistent" "spurious APIC interrupt" "TSC_DEADLINE disabled"
[ $fail = 0 ] && echo "linux-apic: ok"
exit $fail
