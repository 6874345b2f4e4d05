#!/usr/bin/env bash
# System test: a write the guest was told is done survives bt86 being
# killed with SIGKILL. SeaBIOS boots a boot sector (below) that reads LBA 1
# and prints what it holds, writes a mark there through INT 13h, says so on
# the debug console (port 0x402), and spins. The test kills bt86 with
# SIGKILL as soon as the mark is reported written, boots the same image
# again, and the second boot must print the mark it finds in LBA 1.
# (The default Linux guest cannot take this part: its initramfs has no
# driver for IDE disks, only for the CD-ROM.)
#   disk-sigkill.sh BT86
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "disk-sigkill: skipped: $bios not found"
  exit 77
fi
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT
# The boot sector (GNU as, .code16, loaded at 0:7C00):
#   cld; xor ax,ax; mov ds,ax; mov es,ax
#   mov ax,0x0201; mov cx,2; mov dx,0x80; mov bx,0x7e00; int 0x13; jc fail
#   mov si,found; call print; mov byte [0x7e28],0; mov si,0x7e00; call print
#   mov si,nl; call print
#   mov ax,0x0301; mov cx,2; mov dx,0x80; mov bx,mark; int 0x13; jc fail
#   mov si,done; call print
#   spin: jmp spin
#   fail: mov si,bad; call print; cli; hlt
#   print: mov dx,0x402; 1: lodsb; test al,al; jz 2f; out dx,al; jmp 1b; 2: ret
#   found: "BT86 SECTOR 1: [", nl: "]\n", mark: "BT86-DURABLE-MARK",
#   done: "BT86 MARK WRITTEN\n", bad: "BT86 INT 13h FAILED\n" (all NUL-terminated)
mbr="fc31c08ed88ec0b80102b90200ba8000bb007ecd13722fbe5a7ce83100c606287e00be007ee82600be6b7ce82000b80103b90200ba8000bb6e7ccd137208be807ce80a00ebfebe937ce80200faf4ba0204ac84c07403eeebf8c34254383620534543544f5220313a205b005d0a00425438362d44555241424c452d4d41524b0042543836204d41524b205752495454454e0a004254383620494e5420313368204641494c45440a00"
img=$dir/disk.img
len=$(( ${#mbr} / 2 ))
printf "$(sed 's/../\\x&/g' <<<"$mbr")" > "$img"
head -c $((510 - len)) /dev/zero >> "$img"
printf '\x55\xaa' >> "$img"
head -c $((512 * 2047)) /dev/zero >> "$img"

# Boot, wait (up to 120 s) for "BT86 MARK WRITTEN", then SIGKILL.
boot_and_kill() {
  local log=$1 t=0
  "$bt86" -bios "$bios" -hda "$img" -debugcon stdio -display none -no-reboot >"$log" 2>&1 &
  pid=$!
  while ! grep -q "BT86 MARK WRITTEN" "$log"; do
    if ! kill -0 $pid 2>/dev/null || [ $t -ge 1200 ]; then break; fi
    sleep 0.1
    t=$((t + 1))
  done
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  pid=
}

fail=0
boot_and_kill "$dir/boot1.log"
grep -qF "BT86 SECTOR 1: []" "$dir/boot1.log" || { echo "disk-sigkill: first boot did not find an empty LBA 1"; fail=1; }
grep -qF "BT86 MARK WRITTEN" "$dir/boot1.log" || { echo "disk-sigkill: first boot did not write the mark"; fail=1; }
boot_and_kill "$dir/boot2.log"
grep -a "BT86 " "$dir/boot1.log" "$dir/boot2.log"
grep -qF "BT86 SECTOR 1: [BT86-DURABLE-MARK]" "$dir/boot2.log" ||
  { echo "disk-sigkill: the second boot did not find the mark written before SIGKILL"; fail=1; }

[ $fail -eq 0 ] && echo "disk-sigkill: 1 passed, 0 failed" || echo "disk-sigkill: 0 passed, 1 failed"
exit $fail
