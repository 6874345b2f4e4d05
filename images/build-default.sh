#!/usr/bin/env bash
# Build the default guest from Debian packages only: Debian 12's i386 686
# kernel and busybox-static, packed into a small initramfs whose init gives a
# shell on the serial console, on a FAT disk image made bootable with
# SYSLINUX. Output: images/out/disk.img (and vmlinuz, initrd.gz).
#
# The i386 packages are fetched with apt-get into a private apt directory
# (images/out/apt), so the system's own package lists are never touched.
# Everything is cached: a second run with the same package versions does
# nothing. Host tools needed: apt-get, dpkg-deb, cpio, gzip, mtools,
# dosfstools (mkfs.fat) and syslinux (installed by tests/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")"
out=out
apt_dir=$out/apt
mkdir -p "$out/debs" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
apt_opts=(-q -o APT::Architecture=i386 -o APT::Architectures=i386
          -o Dir::State::Lists="$PWD/$apt_dir/lists" -o Dir::Cache="$PWD/$apt_dir/cache"
          -o Debug::NoLocking=1)

if [ ! -f "$apt_dir/lists/.updated" ]; then
  # A mirror may fail on a secondary index (translations): what matters is
  # that the i386 package lists arrived.
  apt-get "${apt_opts[@]}" update >"$out/apt-update.log" 2>&1 || true
  if ! ls "$apt_dir"/lists/*binary-i386_Packages* >/dev/null 2>&1; then
    echo "build-default: apt-get update failed (see images/$out/apt-update.log)" >&2
    exit 1
  fi
  touch "$apt_dir/lists/.updated"
fi
# The versioned kernel package the linux-image-686 metapackage points at.
kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-686 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kpkg" ] || { echo "build-default: cannot find the i386 686 kernel package" >&2; exit 1; }
(cd "$out/debs" && for p in "$kpkg" busybox-static; do
   ls "${p}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download "$p:i386" >/dev/null
 done)

if [ ! -f "$out/disk.img" ] || [ "$out/debs" -nt "$out/disk.img" ] || [ build-default.sh -nt "$out/disk.img" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  dpkg-deb -x "$out/debs/${kpkg}"_*.deb "$work/kernel"
  dpkg-deb -x "$out/debs"/busybox-static_*.deb "$work/busybox"
  cp "$work"/kernel/boot/vmlinuz-* "$out/vmlinuz"

  # initramfs: busybox, its applet links, and an init that mounts the
  # usual file systems and starts a shell on the console.
  root=$work/root
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root}
  cp "$work/busybox/bin/busybox" "$root/bin/busybox"
  # The applet links are made by the guest itself at boot (the i386
  # busybox may not run on the build host).
  cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "bt86 guest: busybox shell (poweroff to stop)"
exec setsid cttyhack sh -l
EOF
  chmod +x "$root/init"
  echo 'export PS1="bt86:\w# "' > "$root/etc/profile"
  (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$out/initrd.gz"

  # A FAT "superfloppy" image with SYSLINUX in its boot sector.
  rm -f "$out/disk.img"
  truncate -s 64M "$out/disk.img"
  mkfs.fat -n BT86 "$out/disk.img" >/dev/null
  cat > "$work/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=tty0 console=ttyS0,115200 panic=-1 quiet
EOF
  mcopy -i "$out/disk.img" "$out/vmlinuz" "$out/initrd.gz" "$work/syslinux.cfg" ::/
  syslinux --install "$out/disk.img"
fi
echo "build-default: $out/disk.img ($kpkg, busybox-static)"
