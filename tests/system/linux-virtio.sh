#!/usr/bin/env bash
# System test: virtio-net and the virtio console, in one Linux boot on the
# default engine (virtio-blk and virtio-rng are in vmm-linux-pv, with the
# IDE comparison). The default image on -drive if=virtio (SeaBIOS boots
# it: the only disk), its initramfs with the virtio drivers appended
# (guest.sh's guest_virtio_initrd), and
#   -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,mac=...
#   -device virtio-serial-pci -device virtconsole,chardev=c0
#   -chardev file,id=c0,path=FILE
# The guest sees /dev/vda, its eth0 has the given MAC, gets 10.0.2.15 from
# slirp's DHCP server with busybox udhcpc, and a line written to /dev/hvc0
# lands in FILE.
#   linux-virtio.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
kdeb=$(ls "$(dirname "$img")"/debs/linux-image-*-686_*.deb 2>/dev/null | head -1) # not the -686-pae one
guest_need linux-virtio "$img" "$kdeb"
work=$(mktemp -d)
guest_virtio_initrd "$kdeb" "$work" || exit 1
cp "$img" "$work/vd.img"
mcopy -i "$work/vd.img" "$work/virtio.gz" ::/
mtype -i "$work/vd.img" ::/syslinux.cfg | sed 's/^\( *INITRD \)initrd.gz/\1initrd.gz,virtio.gz/' > "$work/syslinux.cfg"
mcopy -o -i "$work/vd.img" "$work/syslinux.cfg" ::/syslinux.cfg
guest_start "$bt86" -m 256 -drive file="$work/vd.img",if=virtio,format=raw -snapshot -nographic -no-reboot \
  -max-insns 40000000000 -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:99 \
  -device virtio-serial-pci -device virtconsole,chardev=c0 -chardev file,id=c0,path="$work/hvc0.txt"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir" "$work"' EXIT
guest_wait_prompt
send 'load-virtio-drivers' 120
send 'cat /sys/class/net/eth0/address'
send 'ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -T 2 && ip -4 addr show eth0' 300
send 'echo "HVC-$((6*7))-LINE" > /dev/hvc0'
guest_poweroff
sed -n '/load-virtio-drivers/,$p' "$out" | head -30
check '^virtio drivers: /dev/vda'
check '^52:54:00:12:34:99'
check 'lease of 10\.0\.2\.15 obtained'
check 'inet 10\.0\.2\.15/24'
if ! grep -q '^HVC-42-LINE' "$work/hvc0.txt" 2>/dev/null; then
  echo "linux-virtio: the virtio console's file lacks the guest's line"; fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection"
[ $fail = 0 ] && echo "linux-virtio: ok"
exit $fail
