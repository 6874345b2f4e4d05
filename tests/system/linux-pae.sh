#!/usr/bin/env bash
# System test: the PAE variant of the default guest (Debian's 686-pae
# kernel, images/out/pae/ from images/build-default.sh) boots with
# -cpu max by direct kernel boot, in one boot: the kernel runs with
# three-level PAE paging and NX (its page tables mark data non-executable),
# /proc/cpuinfo shows the features the model reports, the kernel says NX
# protection is active, and it believes the CPU is not affected by Meltdown
# (IA32_ARCH_CAPABILITIES.RDCL_NO: no page-table isolation, see
# docs/cpu-models.md). Before the boot: -cpu help and an unknown model.
#   linux-pae.sh BT86 [VMLINUZ INITRD]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
top=$(dirname "$0")/../..
kernel=${2:-$top/images/out/pae/vmlinuz}
initrd=${3:-$top/images/out/pae/initrd.gz}
. "$(dirname "$0")/guest.sh"
# The model names first (no guest needed): -cpu help lists the four, an
# unknown name is refused with the list.
models=$("$bt86" -cpu help)
for m in pentium2 pentium3 coreduo max; do
  grep -qE "^ +$m " <<<"$models" || { echo "linux-pae: -cpu help does not list $m: $models"; exit 1; }
done
if msg=$("$bt86" -cpu pentium9 2>&1 </dev/null) || ! grep -q "unknown CPU model 'pentium9' (models: pentium2, pentium3, coreduo, max)" <<<"$msg"; then
  echo "linux-pae: -cpu pentium9 was not refused clearly: $msg"
  exit 1
fi
guest_need linux-pae "$kernel" "$initrd"
append="console=ttyS0,115200 panic=-1 nokaslr"
guest_start "$bt86" -cpu max -m 256 -kernel "$kernel" -initrd "$initrd" -append "$append" -nographic \
  -no-reboot -max-insns 40000000000
guest_wait_prompt
send 'uname -r'
send 'grep -m1 flags /proc/cpuinfo'
send 'grep -m1 "model name" /proc/cpuinfo'
send 'dmesg | grep -i -e "execute disable" -e "isolation" -e "pti" -e "PAE"'
send 'cat /sys/devices/system/cpu/vulnerabilities/meltdown'
guest_poweroff
sed -n '/uname -r/,$p' "$out"

check '686-pae'
check '^flags.* pae .*'
check '^flags.* nx'
check '^model name.*bt86 max CPU'
check 'NX \(Execute Disable\) protection: active'
check '^Not affected'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" \
  "page tables isolation: enabled" "NX protection missing" "unchecked MSR access"
[ $fail = 0 ] && echo "linux-pae: ok"
exit $fail
