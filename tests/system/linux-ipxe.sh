#!/usr/bin/env bash
# System test: network boot, one Linux boot per way in. With `kernel`,
# Debian's iPXE (ipxe.lkrn, a bzImage) starts as -kernel; with `pxe`, the
# machine boots with -boot n and SeaBIOS runs the e1000's boot ROM (iPXE
# for QEMU's e1000, ipxe-qemu's pxe-e1000.rom, handed over as fw_cfg file
# pci8086,100e.rom). Either way iPXE drives the e1000 with its own driver, gets its address and
# boot file name from slirp's DHCP (bootfile=), fetches that iPXE script
# from slirp's TFTP server (tftp=DIR) and, as the script says, the default
# guest's kernel and initramfs (images/out/vmlinuz, initrd.gz), and boots
# them: the guest reaches its shell and reads its command line, which only
# the script gave it. restrict=on: the guest reaches only slirp and the host.
#   linux-ipxe.sh BT86 kernel|pxe [IMAGE_DIR]
# Skips (77) when the images or iPXE are missing, unless BT86_REQUIRE_LINUX=1.
bt86=$1
mode=${2:-kernel}
imgdir=${3:-$(dirname "$0")/../../images/out}
if [ "$mode" = pxe ]; then
  ipxe=/usr/lib/ipxe/qemu/pxe-e1000.rom
  boot=(-boot n)
  expect='iPXE \(PCI 00:03\.0\) starting execution'
else
  ipxe=/usr/lib/ipxe/ipxe.lkrn
  boot=(-kernel "$ipxe")
  expect='using 82540em on 0000:00:03\.0'
fi
. "$(dirname "$0")/guest.sh"
guest_need "linux-ipxe-$mode" "$imgdir/vmlinuz" "$imgdir/initrd.gz" "$ipxe"
tftp=$(mktemp -d)
cp "$imgdir/vmlinuz" "$imgdir/initrd.gz" "$tftp/"
cat > "$tftp/boot.ipxe" <<'SCRIPT'
#!ipxe
kernel tftp://10.0.2.2/vmlinuz console=ttyS0,115200 panic=-1 quiet nokaslr bt86.netboot=ipxe
initrd tftp://10.0.2.2/initrd.gz
boot
SCRIPT
guest_start "$bt86" -m 256 "${boot[@]}" -nographic -no-reboot -max-insns 60000000000 \
  -nic "user,restrict=on,tftp=$tftp,bootfile=boot.ipxe"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir" "$tftp"' EXIT
guest_wait_prompt
send 'cat /proc/cmdline'
guest_poweroff
tr -d '\r' < "$out" | grep -E 'iPXE|net0|tftp|bt86' | head -20
check "$expect"
check 'net0: 10\.0\.2\.15/255\.255\.255\.0'
check 'tftp://10\.0\.2\.2/boot\.ipxe\.\.\. ok'
check 'tftp://10\.0\.2\.2/initrd\.gz\.\.\. ok'
check '^console=ttyS0,115200 panic=-1 quiet nokaslr bt86\.netboot=ipxe'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:"
[ $fail = 0 ] && echo "linux-ipxe-$mode: ok"
exit $fail
