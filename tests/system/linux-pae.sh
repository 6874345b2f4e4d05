#!/usr/bin/env bash
# System test: the PAE variant of the default guest (Debian's 686-pae
# kernel, images/out/pae/ from images/build-default.sh) boots with
# -cpu max by direct kernel boot, in one boot: the kernel runs with
# three-level PAE paging and NX (its page tables mark data non-executable),
# /proc/cpuinfo shows the features the model reports, the kernel says NX
# protection is active, and it believes the CPU is not affected by Meltdown
# (IA32_ARCH_CAPABILITIES.RDCL_NO: no page-table isolation, see
# docs/cpu-models.md). The machine has 6 GiB (-m 6G): 3.5 GiB below the
# PCI hole and 2.5 GiB from 4 GiB up, which SeaBIOS's e820 map (from CMOS
# 0x5B-0x5D and fw_cfg etc/e820) hands to the kernel: MemTotal is above
# 5.5 GiB, and a 32 MiB tmpfs file of random blocks lands in page frames
# above 4 GiB (their /proc/kpageflags entries fill up) and reads back with
# the checksum it was written with. Before the boot: -cpu help, an unknown
# model, and -m sizes the 36-bit model cannot reach.
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
# -m: more than bt86's 64 GiB, and more than 36 physical address bits reach.
if msg=$("$bt86" -m 65G 2>&1 </dev/null) || ! grep -q "more than bt86's 64 GiB" <<<"$msg"; then
  echo "linux-pae: -m 65G was not refused clearly: $msg"
  exit 1
fi
if msg=$("$bt86" -m 64G 2>&1 </dev/null) || ! grep -q "beyond the 36-bit physical addresses of -cpu max (at most 65024 MiB)" <<<"$msg"; then
  echo "linux-pae: -m 64G was not refused clearly: $msg"
  exit 1
fi
guest_need linux-pae "$kernel" "$initrd"
append="console=ttyS0,115200 panic=-1 nokaslr"
guest_start "$bt86" -cpu max -m 6G -kernel "$kernel" -initrd "$initrd" -append "$append" -nographic \
  -no-reboot -max-insns 40000000000
guest_wait_prompt
send 'uname -r'
send 'grep -m1 flags /proc/cpuinfo'
send 'grep -m1 "model name" /proc/cpuinfo'
send 'dmesg | grep -i -e "execute disable" -e "isolation" -e "pti" -e "PAE"'
send 'cat /sys/devices/system/cpu/vulnerabilities/meltdown'
send 'grep MemTotal /proc/meminfo; dmesg | grep "BIOS-e820"'
# Non-zero bytes in the kpageflags entries of the frames above 4 GiB
# (PFN 0x100000 on), before and after the file is written; then the file's
# checksum against that of the same bytes made again.
send 'hi() { dd if=/proc/kpageflags bs=4096 skip=2048 2>/dev/null | tr -d "\000" | wc -c; }; blocks() { for i in $(seq 32); do echo $i; cat /r; done; }'
send 'b=$(hi); mount -t tmpfs none /mnt && dd if=/dev/urandom of=/r bs=1M count=1 2>/dev/null && blocks >/mnt/f; echo "above 4G: $(($(hi) - b))"' 120
send 'echo "file $(md5sum </mnt/f)"; echo "made $(blocks | md5sum)"' 120
guest_poweroff
sed -n '/uname -r/,$p' "$out"

check '686-pae'
check '^flags.* pae .*'
check '^flags.* nx'
check '^model name.*bt86 max CPU'
check 'NX \(Execute Disable\) protection: active'
check '^Not affected'
check 'BIOS-e820: \[mem 0x0000000100000000-0x000000019fffffff\] usable'
mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$out" | head -1)
if [ -z "$mem_kb" ] || [ "$mem_kb" -le $((5632 * 1024)) ]; then
  echo "linux-pae: MemTotal ${mem_kb:-missing} kB, not above 5.5 GiB"
  fail=1
fi
grew=$(sed -n 's/^above 4G: \([0-9]*\).*/\1/p' "$out" | head -1)
if [ -z "$grew" ] || [ "$grew" -lt 4096 ]; then
  echo "linux-pae: the tmpfs file did not fill frames above 4 GiB (${grew:-no count})"
  fail=1
fi
file_sum=$(sed -n 's/^file \([0-9a-f]*\).*/\1/p' "$out" | head -1)
made_sum=$(sed -n 's/^made \([0-9a-f]*\).*/\1/p' "$out" | head -1)
if [ -z "$file_sum" ] || [ "$file_sum" != "$made_sum" ]; then
  echo "linux-pae: the file in high memory reads back as ${file_sum:-nothing}, written as ${made_sum:-nothing}"
  fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" \
  "page tables isolation: enabled" "NX protection missing" "unchecked MSR access"
[ $fail = 0 ] && echo "linux-pae: ok"
exit $fail
