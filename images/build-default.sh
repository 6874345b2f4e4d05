#!/usr/bin/env bash
# Build the default guest from Debian packages only: Debian 12's i386 686
# kernel and busybox-static, packed into a small initramfs whose init gives a
# shell on the serial console, on a FAT disk image made bootable with
# SYSLINUX, and on an El Torito CD image made bootable with ISOLINUX.
# Output: images/out/disk.img, images/out/cd.iso (and vmlinuz, initrd.gz);
# images/out/pae/{vmlinuz,initrd.gz}: the same initramfs around Debian's
# 686-pae kernel (with its own modules), for -kernel/-initrd boots.
# The initramfs also holds /bin/sse-check, tests/guest/sse-check.c built as a
# static i386 program with SSE2 floating point (gcc -m32 -msse2 -mfpmath=sse).
# The initramfs also holds the modules that let the guest read a CD
# (libata/ata_piix, sr_mod, isofs): `load-cdrom-drivers` loads them.
# It also holds the e1000 network driver (and the modules its depends=
# field names, recursively: the package has no modules.dep, depmod makes
# that at install time): `load-net-drivers` loads it, and busybox's udhcpc
# configures the interface with /etc/udhcpc/default.script.
# The init loads the ACPI button and evdev modules and starts busybox's
# acpid, whose handler for the power button (/etc/acpi/PWRF/00000080)
# syncs and powers off: the monitor's system_powerdown shuts the guest down.
# The kernel command line has `nokaslr`: the kernel stays at its link
# address, so one System.map fits every boot. Debian's package has only a
# placeholder System.map; images/kernel-map.sh BT86 (which needs a built
# bt86: tests/run-all.sh runs it) writes images/out/System.map from the
# guest's own /proc/kallsyms, for bt86 -symbols.
#
# The i386 packages are fetched with apt-get into a private apt directory
# (images/out/apt), so the system's own package lists are never touched.
# Everything is cached: a second run with the same package versions does
# nothing; each output is remade only when its inputs are newer. The
# initramfs and the CD image are reproducible (fixed dates, sorted entries,
# fixed volume id). Host tools needed: apt-get, dpkg-deb, cpio, gzip, mtools,
# dosfstools (mkfs.fat), syslinux, isolinux, syslinux-common and xorriso
# and gcc-multilib (gcc -m32 for the SSE test program tests/guest/sse-check.c)
# (installed by tests/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")"
export SOURCE_DATE_EPOCH=1704067200 # 2024-01-01: every date in the initramfs and the ISO
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
# The versioned kernel packages the linux-image-686 and linux-image-686-pae
# metapackages point at.
kernel_package() {
  apt-cache "${apt_opts[@]}" depends "$1" | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}
kpkg=$(kernel_package linux-image-686)
[ -n "$kpkg" ] || { echo "build-default: cannot find the i386 686 kernel package" >&2; exit 1; }
kpkg_pae=$(kernel_package linux-image-686-pae)
[ -n "$kpkg_pae" ] || { echo "build-default: cannot find the i386 686-pae kernel package" >&2; exit 1; }
(cd "$out/debs" && for p in "$kpkg" "$kpkg_pae" busybox-static; do
   ls "${p}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download "$p:i386" >/dev/null
 done)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Kernel command line of both boot loaders.
cat > "$work/boot.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=tty0 console=ttyS0,115200 panic=-1 quiet nokaslr
EOF

sse_src=../tests/guest/sse-check.c
# build_kernel_initrd PACKAGE DEST: DEST/vmlinuz from the kernel package and
# DEST/initrd.gz with that kernel's modules (remade only when its inputs are
# newer).
build_kernel_initrd() {
  local pkg=$1 dest=$2 w root f m cd_modules net_modules
  mkdir -p "$dest"
  if [ -f "$dest/initrd.gz" ] && [ -f "$dest/vmlinuz" ] && ! [ "$out/debs" -nt "$dest/initrd.gz" ] &&
     ! [ build-default.sh -nt "$dest/initrd.gz" ] && ! [ "$sse_src" -nt "$dest/initrd.gz" ]; then
    return 0
  fi
  w=$work/$(basename "$dest")
  mkdir -p "$w"
  dpkg-deb -x "$out/debs/${pkg}"_*.deb "$w/kernel"
  dpkg-deb -x "$out/debs"/busybox-static_*.deb "$w/busybox"
  cp "$w"/kernel/boot/vmlinuz-* "$w/vmlinuz"

  # initramfs: busybox, its applet links, and an init that mounts the
  # usual file systems and starts a shell on the console.
  root=$w/root
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc/acpi/PWRF,root,mnt,lib/modules,var/log,var/run,www}
  cp "$w/busybox/bin/busybox" "$root/bin/busybox"
  # The SSE test program (tests/guest/sse-check.c), static i386 with SSE2
  # floating point (gcc-multilib); tests/system/linux-boot.sh runs it.
  gcc -m32 -static -O2 -msse2 -mfpmath=sse -ftree-vectorize -fno-math-errno \
    -o "$root/bin/sse-check" "$sse_src" ||
    { echo "build-default: gcc -m32 failed (gcc-multilib: tests/install-deps.sh)" >&2; exit 1; }
  # The CD-ROM drivers (modules in Debian's kernel), in load order.
  cd_modules="scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs"
  # The power button (ACPI fixed event -> input device) and its
  # /dev/input/event* node for acpid.
  for m in $cd_modules evdev button; do
    f=$(find "$w"/kernel/lib/modules -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "build-default: kernel module $m not found in $pkg" >&2; exit 1; }
    cp "$f" "$root/lib/modules/"
  done
  {
    echo '#!/bin/sh'
    echo '# Load the drivers for the IDE CD-ROM (/dev/sr0) and ISO 9660.'
    echo "for m in $cd_modules; do insmod /lib/modules/\$m.ko || exit 1; done"
  } > "$root/sbin/load-cdrom-drivers"
  chmod +x "$root/sbin/load-cdrom-drivers"
  # The network driver and what it depends on, dependencies first (from
  # each module's own depends= field, as modinfo reads it).
  net_modules=""
  add_module() {
    local f deps d
    case " $net_modules " in *" $1 "*) return 0 ;; esac
    f=$(find "$w"/kernel/lib/modules -name "$1.ko" | head -1)
    [ -n "$f" ] || { echo "build-default: kernel module $1 not found in $pkg" >&2; exit 1; }
    deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
    for d in $deps; do add_module "$d"; done
    cp "$f" "$root/lib/modules/"
    net_modules="$net_modules $1"
  }
  add_module e1000
  {
    echo '#!/bin/sh'
    echo '# Load the Intel e1000 network driver (eth0).'
    echo "for m in$net_modules; do insmod /lib/modules/\$m.ko || exit 1; done"
  } > "$root/sbin/load-net-drivers"
  chmod +x "$root/sbin/load-net-drivers"
  mkdir -p "$root/etc/udhcpc"
  cat > "$root/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc's hook: $1 is the event, the lease is in the environment.
case "$1" in
deconfig)
  ip addr flush dev "$interface"
  ip link set "$interface" up
  ;;
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
  for r in $router; do ip route add default via "$r" dev "$interface"; break; done
  : > /etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
  echo "udhcpc: $interface $ip/${mask:-24} via ${router:-none}"
  ;;
esac
exit 0
EOF
  chmod +x "$root/etc/udhcpc/default.script"
  cat > "$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# Run by acpid when the power button is pressed: a clean shutdown.
echo "bt86 guest: power button pressed, shutting down" >/dev/console
sync
poweroff -f
EOF
  chmod +x "$root/etc/acpi/PWRF/00000080"
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
insmod /lib/modules/evdev.ko && insmod /lib/modules/button.ko && acpid
echo "bt86 guest: busybox shell (poweroff to stop)"
exec setsid cttyhack sh -l
EOF
  chmod +x "$root/init"
  echo 'export PS1="bt86:\w# "' > "$root/etc/profile"
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible 2>/dev/null | gzip -9n) > "$w/initrd.gz"
  mv "$w/vmlinuz" "$dest/vmlinuz"
  mv "$w/initrd.gz" "$dest/initrd.gz"
}
build_kernel_initrd "$kpkg" "$out"
# The PAE variant (3-level paging, NX): images/out/pae/{vmlinuz,initrd.gz}.
build_kernel_initrd "$kpkg_pae" "$out/pae"

if [ ! -f "$out/disk.img" ] || [ "$out/initrd.gz" -nt "$out/disk.img" ] || [ "$out/vmlinuz" -nt "$out/disk.img" ]; then
  # A FAT "superfloppy" image with SYSLINUX in its boot sector.
  truncate -s 64M "$work/disk.img"
  mkfs.fat -n BT86 "$work/disk.img" >/dev/null
  cp "$work/boot.cfg" "$work/syslinux.cfg"
  mcopy -i "$work/disk.img" "$out/vmlinuz" "$out/initrd.gz" "$work/syslinux.cfg" ::/
  syslinux --install "$work/disk.img"
  mv "$work/disk.img" "$out/disk.img"
fi

if [ ! -f "$out/cd.iso" ] || [ "$out/initrd.gz" -nt "$out/cd.iso" ] || [ "$out/vmlinuz" -nt "$out/cd.iso" ] ||
   [ build-default.sh -nt "$out/cd.iso" ]; then
  # An ISO 9660 CD with ISOLINUX as its El Torito no-emulation boot image.
  iso=$work/iso
  mkdir -p "$iso/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
  # ISOLINUX looks for files from its own directory: name them from the root.
  sed -e 's,KERNEL ,KERNEL /,' -e 's,INITRD ,INITRD /,' "$work/boot.cfg" > "$iso/isolinux/isolinux.cfg"
  cp "$out/vmlinuz" "$out/initrd.gz" "$iso/"
  find "$iso" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  xorriso -as mkisofs -quiet -o "$work/cd.iso" -V BT86_CD -r -J \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$iso" 2>"$work/xorriso.log" || { cat "$work/xorriso.log" >&2; exit 1; }
  mv "$work/cd.iso" "$out/cd.iso"
fi
echo "build-default: $out/disk.img, $out/cd.iso ($kpkg, busybox-static), $out/pae ($kpkg_pae)"
