#!/usr/bin/env bash
# System test, quick: direct kernel boot and ACPI power-off without a real
# kernel. The test writes a tiny bzImage-shaped file whose real-mode "setup
# code" prints the command line it was given (through cmd_line_ptr in its
# setup header) on the debug console and then writes SLP_EN with SLP_TYP 0
# (S5) to PM1a_CNT at the PM base SeaBIOS set (0xB000). So SeaBIOS, bt86's
# boot ROM, the fw_cfg DMA transfers, the boot-protocol hand-over and the
# power-off path all have to work, and bt86 must exit with status 0.
# Also checks the clear errors for a file that is not a bzImage and for an
# initrd too large for RAM.
# Skips (77) when the seabios package is not installed.
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "kernel-boot-rom: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
k=$dir/fake-bzImage
# 2 sectors of setup (setup_sects = 1) and 1 sector of "kernel".
head -c 1536 /dev/zero >"$k"
put() { printf "$2" | dd of="$k" bs=1 seek=$(($1)) conv=notrunc status=none; }
put 0x1F1 '\x01'                 # setup_sects
put 0x1FE '\x55\xAA'             # boot_flag
put 0x200 '\xEB\x7E'             # jmp 0x280 (over the header)
put 0x202 'HdrS'
put 0x206 '\x0F\x02'             # protocol 2.15
put 0x211 '\x01'                 # LOADED_HIGH
put 0x22C '\xFF\xFF\xFF\x7F'     # initrd_addr_max
put 0x238 '\xFF\x07\x00\x00'     # cmdline_size
put 0x260 '\x00\x10\x00\x00'     # init_size (1 MiB)
# 16-bit code, entered at 0x1020:0000 with DS = 0x1000:
#   mov dx,0x402; mov eax,[0x228]; shr eax,4; mov es,ax; xor si,si
#   l: mov al,es:[si]; test al,al; jz d; out dx,al; inc si; jmp l
#   d: mov al,10; out dx,al; mov dx,0xB004; mov ax,0x2000; out dx,ax; h: hlt; jmp h
put 0x280 '\xBA\x02\x04\x66\xA1\x28\x02\x66\xC1\xE8\x04\x8E\xC0\x31\xF6'
put 0x28F '\x26\x8A\x04\x84\xC0\x74\x04\xEE\x46\xEB\xF5'
put 0x29A '\xB0\x0A\xEE\xBA\x04\xB0\xB8\x00\x20\xEF\xF4\xEB\xFD'
printf 'initrd' >"$dir/initrd"

fail=0
cmdline="bt86-fake-kernel answer=42"
timeout 300 "$bt86" -bios "$bios" -kernel "$k" -initrd "$dir/initrd" -append "$cmdline" \
  -debugcon "file:$dir/dbg" -serial none -no-reboot -max-insns 400000000 >"$dir/out" 2>&1
rc=$?
if ! grep -qxF -- "$cmdline" "$dir/dbg"; then
  echo "kernel-boot-rom: the setup code did not print its command line; debug console:"
  tail -15 "$dir/dbg"
  fail=1
fi
if ! grep -qF "Booting from ROM" "$dir/dbg"; then echo "kernel-boot-rom: SeaBIOS did not boot the ROM"; fail=1; fi
if [ $rc -ne 0 ] || grep -qF "the CPU halted" "$dir/out"; then
  echo "kernel-boot-rom: bt86 exited with $rc, expected 0 from an ACPI power-off:"
  cat "$dir/out"
  fail=1
fi

# Errors: not a bzImage; an initrd too large for RAM.
"$bt86" -bios "$bios" -kernel "$dir/initrd" >"$dir/err1" 2>&1
if [ $? -ne 1 ] || ! grep -q "not a Linux x86 kernel image" "$dir/err1"; then
  echo "kernel-boot-rom: no clear error for a non-bzImage:"; cat "$dir/err1"; fail=1
fi
head -c $((40 << 20)) /dev/zero >"$dir/big"
"$bt86" -bios "$bios" -m 32 -kernel "$k" -initrd "$dir/big" >"$dir/err2" 2>&1
if [ $? -ne 1 ] || ! grep -q "initrd too large for RAM" "$dir/err2"; then
  echo "kernel-boot-rom: no clear error for a too large initrd:"; cat "$dir/err2"; fail=1
fi
"$bt86" -bios "$bios" -kernel "$dir/missing" >"$dir/err3" 2>&1
if [ $? -ne 1 ] || ! grep -q "cannot open kernel" "$dir/err3"; then
  echo "kernel-boot-rom: no clear error for a missing kernel:"; cat "$dir/err3"; fail=1
fi
[ $fail -eq 0 ] && echo "kernel-boot-rom: ok"
exit $fail
