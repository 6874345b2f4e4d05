#!/usr/bin/env bash
# System test (no guest OS): -drive and image formats on the command line.
# Bad -drive arguments and conflicting drive positions give a clear error
# and exit status 1; a probed raw image gets QEMU's warning, format=raw
# does not; format=qcow2 on a raw file is refused; a second bt86 on an
# image that a first one (running SeaBIOS) has open for writing fails with
# the lock message, while two read-only users share it; SeaBIOS sees a
# qcow2 disk given by -drive at index 1 (primary slave) and a CD-ROM given
# by -drive media=cdrom; the virtio drive and device options' errors. The qcow2 parts need qemu-img.
bt86=$1
bios=/usr/share/seabios/bios.bin
[ -r "$bios" ] || { echo "drive-args: skipped: $bios missing"; exit 77; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
fail=0
run() { timeout 60 "$bt86" -bios "$bios" -display none -max-insns "${insns:-1000}" "$@" </dev/null 2>&1; }
# expect_error DESCRIPTION PATTERN ARGS...: bt86 must exit 1 and say PATTERN.
expect_error() {
  local what=$1 pattern=$2 out rc
  shift 2
  out=$(run "$@")
  rc=$?
  if [ $rc -ne 1 ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "drive-args: $what: exit $rc, said: $out (wanted /$pattern/)"
    fail=1
  else
    echo "drive-args: $what: $(head -1 <<<"$out")"
  fi
}
head -c $((1 << 20)) /dev/zero > "$dir/a.img"
cp "$dir/a.img" "$dir/b.img"
expect_error "no file=" "needs file=FILE" -drive index=1
expect_error "unknown key" "unknown parameter 'foo'" -drive file="$dir/a.img",foo=1
expect_error "bad format" "unknown format 'vmdk'" -drive file="$dir/a.img",format=vmdk
expect_error "bad interface" "interface 'scsi' not supported" -drive file="$dir/a.img",if=scsi
expect_error "bad index" "index '4' out of range" -drive file="$dir/a.img",index=4
expect_error "bad cache" "cache 'fast'" -drive file="$dir/a.img",cache=fast
expect_error "bad media" "media 'tape'" -drive file="$dir/a.img",media=tape
# virtio: a drive id that does not exist, index= on virtio, a third virtio
# drive, a CD on virtio, virtconsole without the bus, an unknown chardev.
expect_error "virtio-blk-pci without its drive" "no -drive if=none,id=nope" \
  -device virtio-blk-pci,drive=nope
expect_error "virtio-blk-pci without drive=" "needs drive=ID" -device virtio-blk-pci
expect_error "index= on virtio" "index= is for if=ide" -drive file="$dir/a.img",if=virtio,index=1
expect_error "three virtio drives" "at most 2 virtio drives" -drive file="$dir/a.img",if=virtio,readonly=on \
  -drive file="$dir/a.img",if=virtio,readonly=on -drive file="$dir/a.img",if=virtio,readonly=on
expect_error "virtio CD-ROM" "virtio drives are disks" -drive file="$dir/a.img",if=virtio,media=cdrom
expect_error "virtconsole alone" "needs -device virtio-serial-pci" -device virtconsole
expect_error "virtconsole chardev" "no -chardev with id=c1" -device virtio-serial-pci \
  -device virtconsole,chardev=c1 -chardev stdio,id=c0
expect_error "bad chardev" "-chardev" -chardev socket,id=c0
expect_error "index taken by -hda" "IDE index 0 is already taken by -hda" \
  -hda "$dir/b.img" -drive file="$dir/a.img",index=0
expect_error "index taken twice" "IDE index 1 is already taken by another -drive" \
  -drive file="$dir/a.img",index=1 -drive file="$dir/b.img",index=1
expect_error "index taken by -cdrom" "IDE index 2 is already taken by -cdrom" \
  -cdrom "$dir/a.img" -drive file="$dir/b.img",index=2
expect_error "five drives" "no free IDE index" -hda "$dir/a.img" -drive file="$dir/b.img" \
  -drive file="$dir/b.img",readonly=on -drive file="$dir/b.img",readonly=on \
  -drive file="$dir/b.img",readonly=on
expect_error "qcow2 on a raw file" "not a qcow2 image" -drive file="$dir/a.img",format=qcow2
expect_error "missing file with if=none" "No such file" -drive file="$dir/none.img",if=none

# QEMU's warning for a probed raw image; none with format=raw.
out=$(run -hda "$dir/a.img")
grep -q "Image format was not specified for '$dir/a.img' and probing guessed raw" <<<"$out" ||
  { echo "drive-args: no probing warning: $out"; fail=1; }
out=$(run -drive file="$dir/a.img",format=raw)
grep -q "probing guessed raw" <<<"$out" && { echo "drive-args: warning with format=raw: $out"; fail=1; }

# Locking: a first bt86 runs SeaBIOS with a.img writable.
"$bt86" -bios "$bios" -display none -drive file="$dir/a.img",format=raw -debugcon file:"$dir/first.log" \
  -max-insns 100000000000 </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do [ -s "$dir/first.log" ] && break; sleep 0.2; done
expect_error "second writer" "failed to get \"write\" lock: is another process" -hda "$dir/a.img"
expect_error "reader while writing" "failed to get \"consistent read\" lock" \
  -drive file="$dir/a.img",format=raw,readonly=on
kill $pid
wait $pid 2>/dev/null
pid=
# Two readers share.
"$bt86" -bios "$bios" -display none -drive file="$dir/a.img",format=raw,readonly=on \
  -debugcon file:"$dir/first.log" -max-insns 100000000000 </dev/null >/dev/null 2>&1 &
pid=$!
sleep 1
out=$(run -drive file="$dir/a.img",format=raw -snapshot); rc=$?
[ $rc = 0 ] || { echo "drive-args: a second reader was refused: $out"; fail=1; }
kill $pid
wait $pid 2>/dev/null
pid=

if command -v qemu-img >/dev/null; then
  # SeaBIOS sees a qcow2 disk at index 1 (ata0-1) and a CD-ROM at index 3.
  qemu-img create -q -f qcow2 "$dir/d.qcow2" 32M
  iso=$(dirname "$0")/../../images/out/cd.iso
  cd_args=()
  [ -r "$iso" ] && cd_args=(-drive file="$iso",media=cdrom,index=3)
  out=$(insns=100000000 run -drive file="$dir/d.qcow2",index=1 "${cd_args[@]}" -debugcon stdio -no-reboot)
  grep -qE "ata0-1: .* ATA-[0-9]+ Hard-Disk \(32 MiBytes\)" <<<"$out" ||
    { echo "drive-args: SeaBIOS did not see the 32 MiB qcow2 disk at ata0-1:"; grep -i ata <<<"$out"; fail=1; }
  if [ ${#cd_args[@]} -gt 0 ] && ! grep -q "ata1-1: .*CD-ROM" <<<"$out"; then
    echo "drive-args: SeaBIOS did not see the CD-ROM at ata1-1"; fail=1
  fi
  qemu-img check -q "$dir/d.qcow2" || { echo "drive-args: qemu-img check failed"; fail=1; }
else
  echo "drive-args: qemu-img missing (qemu-utils): qcow2 part skipped"
fi
[ $fail = 0 ] && echo "drive-args: ok"
exit $fail
