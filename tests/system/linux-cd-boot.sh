#!/usr/bin/env bash
# System test: the default guest boots from its CD image (images/out/cd.iso:
# SeaBIOS's El Torito boot through the ATAPI drive, ISOLINUX, Debian's
# kernel and the busybox initramfs) to its shell on the serial console. The
# test then types commands through COM1: uname, ls /dev, loads the CD
# drivers from the initramfs (libata/ata_piix, sr_mod, isofs), reads the
# ISO 9660 descriptor from /dev/sr0 with dd, mounts the CD, lists it,
# checksums the kernel on it against the host's copy, and checks what the
# kernel's log says of the drive.
#   linux-cd-boot.sh BT86 [ISO]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
iso=${2:-$(dirname "$0")/../../images/out/cd.iso}
bios=/usr/share/seabios/bios.bin
if [ ! -r "$iso" ] || [ ! -r "$bios" ]; then
  if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then
    echo "linux-cd-boot: $iso or $bios missing (run images/build-default.sh)"
    exit 1
  fi
  echo "linux-cd-boot: skipped: $iso not built (images/build-default.sh)"
  exit 77
fi
dir=$(mktemp -d)
out=$dir/out
mkfifo "$dir/in"
"$bt86" -m 128 -cdrom "$iso" -boot d -nographic -no-reboot -max-insns 60000000000 \
  <"$dir/in" >"$out" 2>&1 &
pid=$!
exec 3>"$dir/in"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT

# Wait (up to $1 seconds of host time) for the guest to print $2.
wait_for() {
  local limit=$1 text=$2 t=0
  while ! grep -qF -- "$text" "$out"; do
    if ! kill -0 $pid 2>/dev/null; then return 1; fi
    if [ $t -ge "$limit" ]; then return 1; fi
    sleep 1
    t=$((t + 1))
  done
}

fail=0
if ! wait_for 900 "bt86:/# "; then
  echo "linux-cd-boot: no shell prompt; the guest printed:"
  tail -40 "$out"
  exit 1
fi
# One command at a time, each once the previous one has given back the prompt.
prompts() { grep -o 'bt86:/# ' "$out" | wc -l; }
send() {
  local n t=0 limit=${2:-120}
  n=$(prompts)
  printf '%s\n' "$1" >&3
  while [ "$(prompts)" -le "$n" ] && [ $t -lt "$limit" ] && kill -0 $pid 2>/dev/null; do
    sleep 1
    t=$((t + 1))
  done
}
send 'uname -a'
send 'ls /dev'
send 'load-cdrom-drivers && echo DRIVERS-$((40+2))-LOADED' 300
send 'i=0; while [ ! -b /dev/sr0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; ls -l /dev/sr0' 300
send 'dd if=/dev/sr0 bs=2048 count=1 skip=16 2>/dev/null | dd bs=1 skip=1 count=5 2>/dev/null | sed "s/^/PVD=/"; echo' 300
send 'mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt | tr "\n" " " | sed "s/^/CDLS=/"; echo' 300
send 'md5sum /mnt/vmlinuz /mnt/isolinux/isolinux.cfg' 300
send 'umount /mnt && echo UMOUNT-OK' 120
send 'dmesg | grep -E "ata[0-9]|scsi|sr |sr0|cdrom|ISO" | sed "s/^/KLOG /"' 120
printf 'poweroff -f\n' >&3
sleep 2
sed -n '/bt86 guest/,$p' "$out"

check() { if ! grep -qE -- "$1" "$out"; then echo "linux-cd-boot: missing: $1"; fail=1; fi; }
check '^Linux .* i686'
check 'sr0'
check '^DRIVERS-42-LOADED'
check '^b.* /dev/sr0'
check '^PVD=CD001'
check '^CDLS=initrd.gz isolinux vmlinuz'
check '^UMOUNT-OK'
# The kernel read back from the CD is the one on the host.
want=$(md5sum <"$(dirname "$iso")/vmlinuz" | cut -d' ' -f1)
if [ -r "$(dirname "$iso")/vmlinuz" ]; then
  check "^$want  /mnt/vmlinuz"
fi
check '/mnt/isolinux/isolinux.cfg'
# What the kernel's drivers made of the drive: libata's ATAPI probe, the
# SCSI INQUIRY and sr's MODE SENSE capabilities page.
check '^KLOG .*ATAPI: BT86 CD-ROM'
check '^KLOG .*CD-ROM +BT86 +CD-ROM'
check '^KLOG .*sr0\] scsi3-mmc drive'
for bad in "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" "I/O error" \
           "failed command" "exception Emask"; do
  if grep -qF -- "$bad" "$out"; then
    echo "linux-cd-boot: the guest reported '$bad'"; fail=1
  fi
done
[ $fail = 0 ] && echo "linux-cd-boot: ok"
exit $fail
