# guest.sh - sourced by the system tests that boot the default guest
# (images/build-default.sh) and talk to its busybox shell on COM1.
#
#   . "$(dirname "$0")/guest.sh"
#   guest_need NAME FILE...          skip (77) or, with BT86_REQUIRE_LINUX=1, fail when a file is missing
#   guest_start CMD...               run bt86 (COM1 on stdio) with a pipe for its input
#   guest_wait_prompt                wait for the first "bt86:/# " (exits 1 with the log if it never comes)
#   send CMD [SECONDS]               type a command, wait until the prompt comes back
#   guest_poweroff                   `poweroff -f`, wait for bt86 to exit; sets $status
#   check REGEX                      fail the test unless the output has a matching line
#   check_powered_off                bt86 ended with status 0 by powering off (not by halting)
#   check_no LABEL...                fail if the guest printed any of these strings
# The output is in $out; $fail is 1 once any check failed.
guest_name=guest
fail=0

guest_need() {
  guest_name=$1
  shift
  local f
  for f in "$@" /usr/share/seabios/bios.bin; do
    if [ ! -r "$f" ]; then
      if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then
        echo "$guest_name: $f missing (run images/build-default.sh)"
        exit 1
      fi
      echo "$guest_name: skipped: $f not built (images/build-default.sh)"
      exit 77
    fi
  done
}

guest_start() {
  dir=$(mktemp -d)
  out=$dir/out
  mkfifo "$dir/in"
  "$@" <"$dir/in" >"$out" 2>&1 &
  pid=$!
  exec 3>"$dir/in"
  trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
}

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

guest_wait_prompt() {
  if ! wait_for "${1:-900}" "bt86:/# "; then
    echo "$guest_name: no shell prompt; the guest printed:"
    tail -40 "$out"
    exit 1
  fi
}

# One command at a time, each once the previous one has given back the
# prompt, so that the terminal's echo does not interleave with the answers.
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

# Power off through ACPI (S5): bt86 must exit by itself.
guest_poweroff() {
  printf 'poweroff -f\n' >&3
  status=timeout
  for _ in $(seq 1 120); do
    if ! kill -0 $pid 2>/dev/null; then
      wait $pid
      status=$?
      break
    fi
    sleep 1
  done
}

check() { if ! grep -qE -- "$1" "$out"; then echo "$guest_name: missing: $1"; fail=1; fi; }

check_powered_off() {
  # A kernel that merely halts would end bt86 with status 0 too.
  if grep -qF "the CPU halted" "$out"; then
    echo "$guest_name: the machine halted instead of powering off (no ACPI power-off)"; fail=1
  fi
  if [ "$status" != 0 ]; then
    echo "$guest_name: after poweroff bt86 did not exit with status 0 (got: $status)"; fail=1
  fi
}

check_no() {
  local bad
  for bad in "$@"; do
    if grep -qF -- "$bad" "$out"; then
      echo "$guest_name: the guest reported '$bad'"; fail=1
    fi
  done
}

# guest_disk_initrd KDEB DIR: DIR/extra.gz, a second initramfs for the
# default guest with the SCSI disk driver and its dependencies from the
# kernel package KDEB (the default initramfs has only the CD-ROM's), and
# /sbin/load-disk-drivers, which loads the CD-ROM drivers (libata,
# ata_piix, ...), then these, waits for /dev/sda and prints
# "disk drivers: /dev/sda". Appended to the default initramfs (cat, or
# SYSLINUX's INITRD a,b) it gives the guest its IDE disks.
guest_disk_initrd() {
  local kdeb=$1 dir=$2 m f
  local mods="crct10dif_common crct10dif_generic crc-t10dif crc64 crc64_rocksoft_generic crc64-rocksoft t10-pi sd_mod"
  mkdir -p "$dir/kernel" "$dir/extra/lib/modules" "$dir/extra/sbin"
  dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$dir/kernel" --wildcards $(for m in $mods; do echo "*/$m.ko"; done)
  for m in $mods; do
    f=$(find "$dir/kernel" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "$guest_name: module $m not in $kdeb"; return 1; }
    cp "$f" "$dir/extra/lib/modules/"
  done
  {
    echo '#!/bin/sh'
    echo 'load-cdrom-drivers || exit 1'
    echo "for m in $mods; do insmod /lib/modules/\$m.ko || exit 1; done"
    echo 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sda ] && break; sleep 1; done'
    echo 'echo "disk drivers: $(ls /dev/sda)"'
  } > "$dir/extra/sbin/load-disk-drivers"
  chmod +x "$dir/extra/sbin/load-disk-drivers"
  (cd "$dir/extra" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$dir/extra.gz"
}

# guest_virtio_initrd KDEB DIR: DIR/virtio.gz, an initramfs to append to
# the default one with the virtio drivers of the kernel package KDEB
# (virtio_pci on the legacy interface, virtio_blk, virtio_net,
# virtio_console, virtio-rng and their dependencies) and
# /sbin/load-virtio-drivers, which loads them and prints
# "virtio drivers: " and the virtio disks it then sees.
guest_virtio_initrd() {
  local kdeb=$1 dir=$2 m f
  local mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover net_failover virtio_net virtio_console virtio-rng"
  mkdir -p "$dir/vkernel" "$dir/virtio/lib/modules" "$dir/virtio/sbin"
  dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$dir/vkernel" --wildcards $(for m in $mods; do echo "*/$m.ko"; done)
  for m in $mods; do
    f=$(find "$dir/vkernel" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "$guest_name: module $m not in $kdeb"; return 1; }
    cp "$f" "$dir/virtio/lib/modules/"
  done
  {
    echo '#!/bin/sh'
    echo "for m in $mods; do insmod /lib/modules/\$m.ko || exit 1; done"
    echo 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done'
    echo 'echo "virtio drivers: $(ls /dev/vd* 2>/dev/null)"'
  } > "$dir/virtio/sbin/load-virtio-drivers"
  chmod +x "$dir/virtio/sbin/load-virtio-drivers"
  (cd "$dir/virtio" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$dir/virtio.gz"
}
