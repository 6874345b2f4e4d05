#!/usr/bin/env bash
# System test: the default guest boots from a qcow2 overlay whose backing
# file is a zlib-compressed qcow2 copy of images/out/disk.img (SeaBIOS and
# SYSLINUX read the kernel and initramfs through the overlay, the backing
# chain and the compressed clusters). The copy gets a second initramfs
# with the SCSI disk driver (as linux-disk-sigkill.sh builds it), named in
# SYSLINUX's INITRD line, so the guest sees /dev/sda. In the one boot:
#   - a second bt86 on the overlay, and one writing the base, fail with
#     the lock message (the base is locked for reading as a backing file);
#   - the guest writes 1 MiB past the file system's data and syncs, then
#     powers off;
#   - a plain (uncompressed, no backing file) qcow2 copy that qemu-img made
#     is the second disk: the guest reads its first 16 MiB (the file system
#     with the kernel and initramfs) and gets the host's SHA-256.
# Then `qemu-img check` finds no errors and no leaks, `qemu-img compare`
# sees the guest's write in the overlay (and only there: the base's hash
# is unchanged), the bytes are the guest's, and a -snapshot run on the
# overlay leaves it as it was (hash). Needs qemu-img (qemu-utils).
#   qcow2.sh BT86
bt86=$1
top=$(dirname "$0")/../..
img=$top/images/out/disk.img
kdeb=$(ls "$top"/images/out/debs/linux-image-*-686_*.deb 2>/dev/null | head -1) # not the -686-pae one
. "$(dirname "$0")/guest.sh"
guest_need qcow2 "$img" "${kdeb:-$top/images/out/debs/linux-image-MISSING.deb}"
for tool in qemu-img mcopy mtype; do
  command -v $tool >/dev/null || { echo "qcow2: skipped: $tool missing (tests/install-deps.sh)"; exit 77; }
done

work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work" "${dir:-}"; }
trap cleanup EXIT

# The SCSI disk driver (guest.sh): $work/extra.gz, `load-disk-drivers`.
guest_disk_initrd "$kdeb" "$work" || exit 1

# The base: disk.img + extra.gz, then compressed.
cp "$img" "$work/base.raw"
mcopy -i "$work/base.raw" "$work/extra.gz" ::/extra.gz
mtype -i "$work/base.raw" ::/syslinux.cfg | sed 's/^\( *INITRD \)initrd.gz/\1initrd.gz,extra.gz/' > "$work/syslinux.cfg"
grep -q 'INITRD initrd.gz,extra.gz' "$work/syslinux.cfg" || { echo "qcow2: no INITRD line in syslinux.cfg"; exit 1; }
mcopy -o -i "$work/base.raw" "$work/syslinux.cfg" ::/syslinux.cfg
qemu-img convert -c -f raw -O qcow2 "$work/base.raw" "$work/base.qcow2" || exit 1
(cd "$work" && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2) || exit 1
qemu-img convert -f raw -O qcow2 "$work/base.raw" "$work/plain.qcow2" || exit 1
plain_sha=$(head -c $((16 << 20)) "$work/base.raw" | sha256sum | cut -d' ' -f1)
base_hash=$(sha256sum <"$work/base.qcow2")

guest_start "$bt86" -m 256 -drive file="$work/overlay.qcow2",format=qcow2,index=0 \
  -drive file="$work/plain.qcow2",format=qcow2,index=1,readonly=on -nographic -no-reboot -max-insns 40000000000
trap cleanup EXIT
guest_wait_prompt
# Locking: while the guest runs, neither image can be opened for writing.
lock1=$("$bt86" -hda "$work/overlay.qcow2" -display none -max-insns 1000 2>&1); rc1=$?
lock2=$("$bt86" -drive file="$work/base.qcow2",format=qcow2 -display none -max-insns 1000 2>&1); rc2=$?
send 'load-disk-drivers'
send 'for i in 1 2 3 4 5; do [ -b /dev/sdb ] && break; sleep 1; done; dd if=/dev/sdb bs=1M count=16 2>/dev/null | sha256sum | sed "s/^/PLAIN-SHA /"'
# 1 MiB at 48 MiB (the file system's files sit in its first 8 MiB).
send 'yes BT86-QCOW2-LINE | head -c 1048576 | dd of=/dev/sda bs=4096 seek=12288 2>/dev/null && sync && echo "SYNC-$((6*7))-DONE"'
guest_poweroff
check_powered_off
check '^disk drivers: /dev/sda'
check '^SYNC-42-DONE'
check "^PLAIN-SHA $plain_sha "
if [ $rc1 = 0 ] || ! grep -q 'failed to get "write" lock' <<<"$lock1"; then
  echo "qcow2: a second bt86 on the overlay was not refused: $lock1"; fail=1
fi
if [ $rc2 = 0 ] || ! grep -q 'failed to get "write" lock' <<<"$lock2"; then
  echo "qcow2: writing the backing file of a running overlay was not refused: $lock2"; fail=1
fi

qemu-img check "$work/overlay.qcow2" > "$work/check.out" 2>&1 ||
  { echo "qcow2: qemu-img check failed:"; cat "$work/check.out"; fail=1; }
if qemu-img compare -q "$work/base.qcow2" "$work/overlay.qcow2"; then
  echo "qcow2: qemu-img compare sees no difference between base and overlay"; fail=1
fi
[ "$(sha256sum <"$work/base.qcow2")" = "$base_hash" ] || { echo "qcow2: the base image changed"; fail=1; }
qemu-img convert -f qcow2 -O raw "$work/overlay.qcow2" "$work/after.raw"
want=$(yes BT86-QCOW2-LINE | head -c 1048576 | sha256sum)
got=$(dd if="$work/after.raw" bs=4096 skip=12288 count=256 2>/dev/null | sha256sum)
[ "$want" = "$got" ] || { echo "qcow2: the guest's 1 MiB is not in the overlay"; fail=1; }
# Apart from that MiB the overlay reads as the base.
cmp -s <(head -c $((48 << 20)) "$work/after.raw") <(head -c $((48 << 20)) "$work/base.raw") ||
  { echo "qcow2: the overlay differs from the base outside the guest's write"; fail=1; }

# -snapshot on qcow2 never writes the file (SeaBIOS and SYSLINUX start).
over_hash=$(sha256sum <"$work/overlay.qcow2")
"$bt86" -m 256 -hda "$work/overlay.qcow2" -snapshot -display none -max-insns 300000000 >/dev/null 2>&1
[ "$(sha256sum <"$work/overlay.qcow2")" = "$over_hash" ] || { echo "qcow2: -snapshot changed the image"; fail=1; }

[ $fail = 0 ] && echo "qcow2: ok"
exit $fail
