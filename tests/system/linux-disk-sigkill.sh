#!/usr/bin/env bash
# System test: what the Linux guest wrote and synced survives bt86 being
# killed with SIGKILL. The default guest's initramfs has no driver for IDE
# disks (only the CD-ROM's), so the test adds one: a second initramfs with
# the SCSI disk driver and its modules, taken from the same kernel package
# (images/out/debs), appended to the default one. Boot 1 (direct kernel
# boot, a 4 MiB raw disk as -hda, no -snapshot) writes a line to
# /dev/sda with dd, runs `sync`, and bt86 is killed with SIGKILL right
# after; boot 2 reads the first sector back and must find the line.
# The disk runs by bus-master DMA (READ/WRITE DMA): boot 2 also checks
# libata's transfer mode for it (sysfs: MWDMA2, the PIIX3's best) and the
# SHA-256 of the rest of the disk (numbered lines the host wrote) read
# back by the guest against the host's.
# The same with a qcow2 image as -hdb (/dev/sdb): a line written and
# synced, then the guest keeps writing new clusters (dd conv=fsync in a
# loop) while bt86 is killed: `qemu-img check` must then find no
# corruption (leaked clusters are allowed: that is the price of the write
# order, see src/devices/qcow2.h), and boot 2 must find the synced line.
# The qcow2 part is skipped without qemu-img.
#   linux-disk-sigkill.sh BT86
bt86=$1
top=$(dirname "$0")/../..
kernel=$top/images/out/vmlinuz
initrd=$top/images/out/initrd.gz
kdeb=$(ls "$top"/images/out/debs/linux-image-*-686_*.deb 2>/dev/null | head -1) # not the -686-pae one
. "$(dirname "$0")/guest.sh"
guest_need linux-disk-sigkill "$kernel" "$initrd" "${kdeb:-$top/images/out/debs/linux-image-MISSING.deb}"

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work" "${dir:-}"; }
trap cleanup EXIT

# The SCSI disk driver (guest.sh): $work/extra.gz, `load-disk-drivers`.
guest_disk_initrd "$kdeb" "$work" || exit 1
cat "$initrd" "$work/extra.gz" > "$work/initrd.gz"
{ head -c 512 /dev/zero; seq -w 1 9999999 | head -c $(((4 << 20) - 512)); } > "$work/data.img"
want_sha=$(tail -c +513 "$work/data.img" | sha256sum | cut -d' ' -f1)
qcow2_drive=()
if command -v qemu-img >/dev/null; then
  qemu-img create -q -f qcow2 "$work/data.qcow2" 16M || exit 1
  qcow2_drive=(-drive "file=$work/data.qcow2,format=qcow2,index=1")
else
  echo "linux-disk-sigkill: qemu-img missing (qemu-utils): qcow2 part skipped"
fi

boot() {
  guest_start "$bt86" -m 256 -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyS0,115200 panic=-1 quiet" -hda "$work/data.img" "${qcow2_drive[@]}" -nographic -no-reboot \
    -max-insns 40000000000
  trap cleanup EXIT # guest_start set its own
  guest_wait_prompt
  send 'load-disk-drivers'
}
# SIGKILL, no shutdown of any kind.
kill_bt86() {
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  exec 3>&-
  cp "$out" "$work/$1.log"
  rm -rf "$dir"
  pid=
}

boot
send 'echo "BT86-DURABLE-$((6*7))" | dd of=/dev/sda bs=512 count=1 conv=sync 2>/dev/null && sync && echo "SYNC-$((6*7))-DONE"'
if [ ${#qcow2_drive[@]} -gt 0 ]; then
  send 'echo "BT86-QCOW2-DURABLE-$((6*7))" | dd of=/dev/sdb bs=512 count=1 conv=sync 2>/dev/null && sync && echo "QSYNC-$((6*7))-DONE"'
  # New clusters all the time, each write forced to the disk.
  send '(i=1; while :; do yes W$i | head -c 65536 | dd of=/dev/sdb bs=4096 seek=$((i * 16 % 4000)) conv=fsync 2>/dev/null; echo "WROTE-$i"; i=$((i+1)); done) &'
  for _ in $(seq 1 60); do grep -aq "WROTE-5" "$out" && break; sleep 1; done
fi
kill_bt86 boot1
if [ ${#qcow2_drive[@]} -gt 0 ]; then
  qemu-img check "$work/data.qcow2" >"$work/check.out" 2>&1; rc=$?
  cat "$work/check.out"
  # 0: clean, 3: leaked clusters only; anything else is corruption.
  [ $rc = 0 ] || [ $rc = 3 ] || { echo "linux-disk-sigkill: qemu-img check found corruption (status $rc)"; fail=1; }
  grep -aq "WROTE-5" "$work/boot1.log" || { echo "linux-disk-sigkill: the guest was not writing the qcow2 disk when killed"; fail=1; }
fi
boot
send 'dd if=/dev/sda bs=512 count=1 2>/dev/null | head -n 1 | tr -d "\0"'
send 'dd if=/dev/sda bs=512 skip=1 2>/dev/null | sha256sum | sed "s/^/DISK-SHA256 /"' 300
send 'grep . /sys/class/ata_device/*/xfer_mode | sed "s/^/XFER /"'
[ ${#qcow2_drive[@]} -gt 0 ] && send 'dd if=/dev/sdb bs=512 count=1 2>/dev/null | head -n 1 | tr -d "\0"'
kill_bt86 boot2
grep -aE "disk drivers|BT86-DURABLE-42|SYNC-42-DONE|BT86-QCOW2-DURABLE-42" "$work/boot1.log" "$work/boot2.log"

grep -aq "^disk drivers: /dev/sda" "$work/boot1.log" || { echo "linux-disk-sigkill: no /dev/sda in the guest"; fail=1; }
grep -aq "^SYNC-42-DONE" "$work/boot1.log" || { echo "linux-disk-sigkill: the first boot did not write and sync"; fail=1; }
grep -aq "^BT86-DURABLE-42" "$work/boot2.log" ||
  { echo "linux-disk-sigkill: the second boot did not find what the first wrote and synced"; fail=1; }
grep -aE "DISK-SHA256|XFER" "$work/boot2.log"
grep -aq "^DISK-SHA256 $want_sha " "$work/boot2.log" ||
  { echo "linux-disk-sigkill: the disk read back by the guest differs from the host's"; fail=1; }
grep -aq "^XFER .*dev1\.0/xfer_mode:XFER_MW_DMA_2" "$work/boot2.log" ||
  { echo "linux-disk-sigkill: the disk is not in multiword DMA mode 2"; fail=1; }
if grep -aE "failed command|exception Emask|limiting speed|DMA disabled" "$work/boot1.log" "$work/boot2.log"; then
  echo "linux-disk-sigkill: libata reported errors"; fail=1
fi
if [ ${#qcow2_drive[@]} -gt 0 ]; then
  grep -aq "^QSYNC-42-DONE" "$work/boot1.log" || { echo "linux-disk-sigkill: the first boot did not write and sync the qcow2 disk"; fail=1; }
  grep -aq "^BT86-QCOW2-DURABLE-42" "$work/boot2.log" ||
    { echo "linux-disk-sigkill: the second boot did not find what the first wrote and synced to the qcow2 disk"; fail=1; }
fi
[ $fail = 0 ] && echo "linux-disk-sigkill: ok"
exit $fail
