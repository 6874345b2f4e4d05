#!/usr/bin/env bash
# System test: bad -cdrom and -boot arguments give a clear error and exit
# status 1, never a crash: a missing file, an unreadable one, a directory, a
# file whose size is not whole 2048-byte sectors, one without the ISO 9660
# "CD001" descriptor at sector 16, -cdrom with -hdc (same drive position),
# and bad boot orders. A minimal valid image is accepted, SeaBIOS sees
# the drive and tries the devices in the order -boot gives. Without -cdrom
# the drive is there, empty.
bt86=$1
bios=/usr/share/seabios/bios.bin
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
# expect_error DESCRIPTION PATTERN ARGS...: bt86 must exit 1 and say PATTERN.
expect_error() {
  local what=$1 pattern=$2 out rc
  shift 2
  out=$(timeout 20 "$bt86" -max-insns 1000 "$@" </dev/null 2>&1)
  rc=$?
  if [ $rc -ne 1 ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "cdrom-args: $what: exit $rc, said: $out (wanted /$pattern/)"
    fail=1
  else
    echo "cdrom-args: $what: $out"
  fi
}
expect_error "missing file" "CD-ROM image .*/none.iso: No such file" -cdrom "$dir/none.iso"
expect_error "directory" "CD-ROM image .*: not a regular file" -cdrom "$dir"
head -c 5000 /dev/zero > "$dir/odd.iso"
expect_error "partial sector" "not a non-zero multiple of 2048" -cdrom "$dir/odd.iso"
: > "$dir/empty.iso"
expect_error "empty file" "not a non-zero multiple of 2048" -cdrom "$dir/empty.iso"
head -c $((2048 * 40)) /dev/zero > "$dir/zero.iso"
expect_error "no CD001" "not an ISO 9660 image" -cdrom "$dir/zero.iso"
head -c $((2048 * 8)) /dev/zero > "$dir/short.iso"
expect_error "too short for a descriptor" "not an ISO 9660 image" -cdrom "$dir/short.iso"
if [ "$(id -u)" != 0 ]; then
  cp "$dir/zero.iso" "$dir/noread.iso" && chmod 000 "$dir/noread.iso"
  expect_error "unreadable" "Permission denied" -cdrom "$dir/noread.iso"
fi
# A minimal image: "CD001" at sector 16.
head -c $((2048 * 16)) /dev/zero > "$dir/ok.iso"
printf '\001CD001\001' >> "$dir/ok.iso"
head -c $((2048 * 4 - 7)) /dev/zero >> "$dir/ok.iso"
head -c $((512 * 64)) /dev/zero > "$dir/hd.img"
expect_error "-cdrom with -hdc" "secondary master" -cdrom "$dir/ok.iso" -hdc "$dir/hd.img"
expect_error "-cdrom without a file" "needs an argument" -cdrom
expect_error "bad boot letter" "bad boot order 'x'" -boot x
expect_error "too many boot devices" "bad boot order" -boot order=dcan
expect_error "unknown -boot setting" "unsupported setting" -boot splash=foo.bmp
if [ -r "$bios" ]; then
  # first_boot ORDER: the device SeaBIOS tries first with a CD (no El
  # Torito record) and a blank hard disk (no boot signature): neither boots,
  # so SeaBIOS tries them in the order given.
  first_boot() {
    local out
    out=$(timeout 120 "$bt86" -cdrom "$dir/ok.iso" -hda "$dir/hd.img" -snapshot -boot "$1" \
          -debugcon stdio -no-reboot -icount shift=1 -max-insns 150000000 </dev/null 2>&1)
    if ! grep -q "DVD/CD \[ata1-0: BT86 CD-ROM" <<<"$out"; then
      echo "cdrom-args: SeaBIOS did not find the CD-ROM drive:" >&2; tail -20 <<<"$out" >&2
    fi
    grep -oE "Booting from (DVD/CD|Hard Disk)" <<<"$out" | head -1
  }
  for pair in "d:DVD/CD" "order=dc,menu=off:DVD/CD" "c:Hard Disk" "once=cd:Hard Disk"; do
    order=${pair%%:*}
    want="Booting from ${pair#*:}"
    got=$(first_boot "$order")
    if [ "$got" != "$want" ]; then
      echo "cdrom-args: -boot $order: SeaBIOS began with '$got', wanted '$want'"; fail=1
    else
      echo "cdrom-args: -boot $order: $got"
    fi
  done
  # Without -cdrom the secondary master is an empty CD-ROM drive (as in
  # QEMU's PC): SeaBIOS lists it, cannot read a disc from it and goes on to
  # the hard disk. With -hdc the disk takes its place.
  seabios_log() {
    timeout 120 "$bt86" "$@" -snapshot -boot d -debugcon stdio -no-reboot -max-insns 150000000 </dev/null 2>&1
  }
  out=$(seabios_log -hda "$dir/hd.img")
  if grep -q "DVD/CD \[ata1-0: BT86 CD-ROM" <<<"$out" &&
     grep -q "Boot failed: Could not read from CDROM" <<<"$out" &&
     grep -q "Booting from Hard Disk" <<<"$out"; then
    echo "cdrom-args: no -cdrom: an empty CD-ROM drive, then the hard disk"
  else
    echo "cdrom-args: no -cdrom: no empty CD-ROM drive seen:"; grep -E "ata|Boot" <<<"$out"; fail=1
  fi
  out=$(seabios_log -hda "$dir/hd.img" -hdc "$dir/hd.img")
  if grep -q "ata1-0: BT86 HARDDISK" <<<"$out" && ! grep -q "DVD/CD" <<<"$out"; then
    echo "cdrom-args: -hdc: a hard disk on the secondary master, no CD-ROM drive"
  else
    echo "cdrom-args: -hdc: wrong secondary master:"; grep -E "ata|Boot" <<<"$out"; fail=1
  fi
fi
[ $fail = 0 ] && echo "cdrom-args: ok"
exit $fail
