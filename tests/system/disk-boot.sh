#!/usr/bin/env bash
# System test: SeaBIOS finds an IDE disk, boots its boot sector, and the boot
# code writes a sector back through INT 13h. Checks that the write reached
# the image file, that with -snapshot the file is left untouched, and that
# a read-only image file runs read-only (with a message) and stays as it was.
# The boot sector is built here (hand-assembled, source in the comments).
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "disk-boot: skipped: $bios not found"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# cld; mov ax,0x0301; mov cx,2; mov dx,0x80; xor bx,bx; mov es,bx; mov bx,0x7c00
# int 0x13; jc fail; mov si,ok; jmp print; fail: mov si,bad
# print: mov dx,0x402; lodsb; test al,al; jz done; out dx,al; jmp print+3
# done: cli; hlt; jmp done; ok: "...done\n"; bad: "...write\n"
mbr="fcb80103b90200ba800031db8ec3bb007ccd137205be2c7ceb03be4e7cba0204ac84c07403eeebf8faf4ebfd"
mbr+="4254383620424f4f54204f4b3a20494e542031336820777269746520646f6e650a00"
mbr+="4254383620424f4f54204641494c45443a20494e54203133682077726974650a00"
make_image() {
  local img=$1 len=$(( ${#mbr} / 2 ))
  printf "$(sed 's/../\\x&/g' <<<"$mbr")" > "$img"
  head -c $((510 - len)) /dev/zero >> "$img"
  printf '\x55\xaa' >> "$img"
  head -c $((512 * 2047)) /dev/zero >> "$img"
}
fail=0
check() { if ! grep -q "$2" <<<"$1"; then echo "disk-boot: missing: $2"; fail=1; fi; }

make_image "$dir/rw.img"
out=$(timeout 120 "$bt86" -bios "$bios" -hda "$dir/rw.img" -debugcon stdio -no-reboot -max-insns 100000000 2>&1)
echo "$out" | grep -E "ata0|Booting|BT86"
check "$out" "ata0-0: BT86 HARDDISK ATA-6 Hard-Disk (1 MiBytes)"
check "$out" "Booting from 0000:7c00"
check "$out" "BT86 BOOT OK: INT 13h write done"
if ! cmp -s <(head -c 512 "$dir/rw.img") <(tail -c +513 "$dir/rw.img" | head -c 512); then
  echo "disk-boot: sector 1 of the image does not hold the written data"; fail=1
fi

make_image "$dir/snap.img"
cp "$dir/snap.img" "$dir/orig.img"
out=$(timeout 120 "$bt86" -bios "$bios" -hda "$dir/snap.img" -snapshot -debugcon stdio -no-reboot -max-insns 100000000 2>&1)
check "$out" "BT86 BOOT OK: INT 13h write done"
cmp -s "$dir/snap.img" "$dir/orig.img" || { echo "disk-boot: -snapshot modified the image"; fail=1; }

# An image file without write permission: opened read-only with a message;
# the guest's write fails (INT 13h reports it), the file stays as it was.
make_image "$dir/ro.img"
cp "$dir/ro.img" "$dir/ro-orig.img"
chmod 0444 "$dir/ro.img"
out=$(timeout 120 "$bt86" -bios "$bios" -hda "$dir/ro.img" -debugcon stdio -no-reboot -max-insns 100000000 2>&1)
check "$out" "disk image .*ro.img is read-only: opened read-only"
check "$out" "BT86 BOOT FAILED: INT 13h write"
cmp -s "$dir/ro.img" "$dir/ro-orig.img" || { echo "disk-boot: a read-only image was modified"; fail=1; }

# Bad images are clear errors, not crashes.
head -c 1000 /dev/zero > "$dir/odd.img"
out=$("$bt86" -bios "$bios" -hda "$dir/odd.img" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "not a non-zero multiple of 512" <<<"$out" || { echo "disk-boot: bad size not refused: $out"; fail=1; }
out=$("$bt86" -bios "$bios" -hda "$dir/missing.img" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "No such file" <<<"$out" || { echo "disk-boot: missing image not refused: $out"; fail=1; }

[ $fail -eq 0 ] && echo "disk-boot: 1 passed, 0 failed" || echo "disk-boot: 0 passed, 1 failed"
exit $fail
