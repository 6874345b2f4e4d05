#!/usr/bin/env bash
# System test: the default guest (images/build-default.sh: SeaBIOS, SYSLINUX,
# Debian 12's i386 686 kernel and a busybox initramfs) boots to its shell on
# the serial console; the test then types commands through COM1 and checks
# what the guest answers: shell arithmetic, uname, and /proc/cpuinfo (the
# CPU features we report, and a TSC frequency the kernel calibrated against
# our PIT, which must come out at the 500 MHz our virtual clock implies),
# and floating point: two busybox awk loops run side by side in the guest
# (x87 arithmetic; the kernel saves and restores their FPU state with
# FXSAVE/FXRSTOR at each context switch) must print exactly what the very
# same busybox binary, taken from the initramfs, prints on the host CPU
# (and the kernel must have chosen FXSAVE for that, as dmesg says); on
# x86-64 hosts the guest sees SSE to SSSE3 and the image's static i386 SSE2
# program (tests/guest/sse-check.c) prints what the same source built for
# the host prints;
# finally `poweroff -f` must switch the machine off (ACPI S5) and end bt86
# with exit status 0.
#   linux-boot.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1
# (tests/run-all.sh builds it and sets that).
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need linux-boot "$img"
# -snapshot: the image stays as built. The instruction limit is a safety net
# well above what the boot needs (about 5 billion instructions).
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000
guest_wait_prompt
send 'echo BT86-$((6*7))-OK'
send 'uname -sm'
send 'grep -E "^(flags|cpu MHz|fpu)" /proc/cpuinfo'
send 'dmesg | grep -F "x86/fpu:"'
# Harmonic sum, Newton square roots and a product, in doubles with x87
# intermediates; printed with all 17 significant digits.
awkprog='BEGIN{h=0;r=0;p=1;for(i=1;i<=N;i++){h+=1/i;x=i;for(k=0;k<6;k++)x=(x+i/x)/2;r+=x;p*=1+1/(i*i)};printf "%s %.17g %.17g %.17g\n",T,h,r,p}'
awkjobs="F1:3000 F2:2500"
cmd=""
for job in $awkjobs; do cmd="$cmd awk -v T=${job%:*} -v N=${job#*:} '$awkprog' &"; done
send "$cmd wait"
# SSE: the static i386 SSE2 program of the image (tests/guest/sse-check.c).
send 'sse-check'
guest_poweroff
sed -n '/bt86 guest/,$p' "$out"

check '^BT86-42-OK'
check '^Linux i686'
check '^fpu[[:space:]]+: yes'
check '^flags[[:space:]]+: fpu .*tsc .*cx8 .*cmov'
check '^flags[[:space:]]+: .*cmov .*mmx fxsr'
check 'x86/fpu: x87 FPU will use FXSAVE'
# The awk results against the guest's own busybox run on the host.
hostbb=$dir/busybox
if gzip -dc "$(dirname "$img")/initrd.gz" 2>/dev/null | cpio -i --quiet --to-stdout bin/busybox >"$hostbb" &&
   chmod +x "$hostbb" && "$hostbb" true 2>/dev/null; then
  num='[0-9][0-9.e+-]*'
  for job in $awkjobs; do
    tag=${job%:*}
    want=$("$hostbb" awk -v T="$tag" -v N="${job#*:}" "$awkprog")
    got=$(grep -ao -- "$tag $num $num $num" "$out" | head -1)
    if [ -z "$want" ] || [ "$got" != "$want" ]; then
      echo "linux-boot: awk floating point differs: guest '$got', host '$want'"
      fail=1
    fi
  done
else
  echo "linux-boot: note: this host cannot run the guest's i386 busybox; awk results not compared"
fi
# SSE (x86-64 hosts: bt86 runs SSE on the host's unit, cpu/sse.h): the
# features reported, and sse-check's output equal to the same source built
# for this host.
if [ "$(uname -m)" = x86_64 ]; then
  check '^flags[[:space:]]+: .*fxsr sse sse2 .*pni ssse3'
  src=$(dirname "$0")/../guest/sse-check.c
  if ${CC:-cc} -O2 -fno-math-errno -o "$dir/sse-check" "$src" 2>"$dir/sse-cc.log"; then
    want=$("$dir/sse-check")
    for tag in ps sd cvt int; do
      w=$(printf '%s\n' "$want" | grep -a "^$tag " | head -1)
      g=$(grep -ao "^$tag [-0-9a-fx.p+ ]*" "$out" | tr -d '\r' | head -1)
      if [ -z "$w" ] || [ "$g" != "$w" ]; then
        echo "linux-boot: sse-check '$tag' differs: guest '$g', host '$w'"
        fail=1
      fi
    done
  else
    echo "linux-boot: cannot build tests/guest/sse-check.c for the host"; cat "$dir/sse-cc.log"
    fail=1
  fi
fi
mhz=$(sed -n 's/^cpu MHz[[:space:]]*: \([0-9]*\).*/\1/p' "$out" | head -1)
if [ -z "$mhz" ] || [ "$mhz" -lt 495 ] || [ "$mhz" -gt 505 ]; then
  echo "linux-boot: TSC calibrated to '${mhz}' MHz, expected 500 (PIT and TSC disagree)"
  fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "TSC found unstable" "Illegal instruction"
[ $fail = 0 ] && echo "linux-boot: ok"
exit $fail
