#!/usr/bin/env bash
# System test: the default guest boots from its CD image (images/out/cd.iso:
# SeaBIOS's El Torito boot through the ATAPI drive, ISOLINUX, Debian's
# kernel and the busybox initramfs) to its shell on the serial console. The
# test then types commands through COM1: uname, ls /dev, loads the CD
# drivers from the initramfs (libata/ata_piix, sr_mod, isofs), reads the
# ISO 9660 descriptor from /dev/sr0 with dd, mounts the CD, lists it,
# checksums the kernel on it against the host's copy, and checks what the
# kernel's log says of the drive; `poweroff -f` must then end bt86 with
# exit status 0. The drive runs by bus-master DMA: libata's transfer mode
# for it (sysfs) must be MWDMA2, the PIIX3's best, and the kernel read
# from the CD (by DMA READ(10)s) must have the host's SHA-256.
#   linux-cd-boot.sh BT86 [ISO]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
iso=${2:-$(dirname "$0")/../../images/out/cd.iso}
. "$(dirname "$0")/guest.sh"
guest_need linux-cd-boot "$iso"
guest_start "$bt86" -m 128 -cdrom "$iso" -boot d -nographic -no-reboot -max-insns 60000000000
guest_wait_prompt
send 'uname -a'
send 'ls /dev'
send 'load-cdrom-drivers && echo DRIVERS-$((40+2))-LOADED' 300
send 'i=0; while [ ! -b /dev/sr0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; ls -l /dev/sr0' 300
send 'dd if=/dev/sr0 bs=2048 count=1 skip=16 2>/dev/null | dd bs=1 skip=1 count=5 2>/dev/null | sed "s/^/PVD=/"; echo' 300
send 'mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt | tr "\n" " " | sed "s/^/CDLS=/"; echo' 300
send 'md5sum /mnt/vmlinuz /mnt/isolinux/isolinux.cfg' 300
send 'echo 3 >/proc/sys/vm/drop_caches; sha256sum /mnt/vmlinuz | sed "s/^/SHA256 /"' 300
send 'grep . /sys/class/ata_device/*/xfer_mode | sed "s/^/XFER /"' 120
send 'umount /mnt && echo UMOUNT-OK' 120
send 'dmesg | grep -E "ata[0-9]|scsi|sr |sr0|cdrom|ISO" | sed "s/^/KLOG /"' 120
guest_poweroff
sed -n '/bt86 guest/,$p' "$out"

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
if [ -r "$(dirname "$iso")/vmlinuz" ]; then
  sha=$(sha256sum <"$(dirname "$iso")/vmlinuz" | cut -d' ' -f1)
  check "^SHA256 $sha  /mnt/vmlinuz"
fi
# Bus-master DMA: the CD drive (ata2, device 0) was set to multiword DMA
# mode 2, what a PIIX3 offers at most (its drive says UDMA/33).
check '^XFER .*dev2\.0/xfer_mode:XFER_MW_DMA_2'
check '^KLOG .*ata2: PATA max MWDMA2 .* bmdma 0x'
# What the kernel's drivers made of the drive: libata's ATAPI probe, the
# SCSI INQUIRY and sr's MODE SENSE capabilities page.
check '^KLOG .*ATAPI: BT86 CD-ROM'
check '^KLOG .*CD-ROM +BT86 +CD-ROM'
check '^KLOG .*sr0\] scsi3-mmc drive'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection" "Illegal instruction" "I/O error" \
  "failed command" "exception Emask" "limiting speed" "DMA disabled"
[ $fail = 0 ] && echo "linux-cd-boot: ok"
exit $fail
