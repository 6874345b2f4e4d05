#!/usr/bin/env bash
# vmm lab, one Linux boot: the default guest under -vmm pv. Debian's 686
# kernel (CONFIG_KVM_GUEST) finds KVM's paravirtual interface (the CPUID
# hypervisor bit and "KVMKVMKVM" at leaf 0x40000000), chooses kvm-clock as
# its clocksource (it offers the stable bit, so the kernel takes the TSC
# frequency from the pvclock: 500 MHz), reaches its shell, answers
# correctly, its clock advances, and it powers off; the report counts the
# kvm-clock and steal-time MSR writes (the kernel registers its steal-time
# area; nothing is stolen: /proc/stat's steal stays 0) and CPUID's
# hypervisor leaves, and VM exits by reason (hw-ept rules).
# -icount shift=1: the boot runs on the interpreter (a model watches every
# instruction), so virtual time follows the instruction count, not the
# host's clock: the boot's length does not grow on a slow or busy host.
# The disk is on virtio: SeaBIOS boots the image from the virtio-blk
# (bootindex), the initramfs gets the virtio drivers (guest.sh's
# guest_virtio_initrd) and sees /dev/vda and the virtio-rng; the same image
# on IDE (hdb) gives the comparison: 8 MiB read from each, and the report's
# port accesses, I/O exits and interrupts per MiB moved on each path.
#   linux-pv.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/../system/guest.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
kdeb=$(ls "$(dirname "$img")"/debs/linux-image-*-686_*.deb 2>/dev/null | head -1) # not the -686-pae one
guest_need vmm-linux-pv "$img" "$kdeb"
report=$(mktemp --suffix=.json)
work=$(mktemp -d)
cleanup() { rm -rf "$work" "$report"; }
# The IDE disk driver (load-disk-drivers) and the virtio drivers
# (load-virtio-drivers), appended to the image's initramfs on a copy.
guest_disk_initrd "$kdeb" "$work" || exit 1
guest_virtio_initrd "$kdeb" "$work" || exit 1
cp "$img" "$work/vd.img"
mcopy -i "$work/vd.img" "$work/extra.gz" "$work/virtio.gz" ::/
mtype -i "$work/vd.img" ::/syslinux.cfg | sed 's/^\( *INITRD \)initrd.gz/\1initrd.gz,extra.gz,virtio.gz/' > "$work/syslinux.cfg"
mcopy -o -i "$work/vd.img" "$work/syslinux.cfg" ::/syslinux.cfg
guest_start "$bt86" -m 256 -drive file="$work/vd.img",if=none,id=vd0,format=raw \
  -device virtio-blk-pci,drive=vd0,bootindex=0 -hdb "$img" -device virtio-rng-pci \
  -snapshot -nographic -no-reboot -max-insns 40000000000 -icount shift=1 \
  -vmm pv -vmm-report "$report"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"; cleanup' EXIT
guest_wait_prompt 1800
send 'echo BT86-$((6*7))-OK'
send 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource'
send 'dmesg | grep -iE "hypervisor detected|kvm-clock|tsc: detected" | head -5'
send 'set -- $(grep "^cpu " /proc/stat); echo "STEAL $9"'
send 'a=$(cut -d" " -f1 /proc/uptime); sleep 1; b=$(cut -d" " -f1 /proc/uptime); echo "UPTIME $a $b"'
# Only the modules this test needs (each insmod checks the module's
# signature: costly on the interpreter): virtio-blk and -rng; ata_piix and
# sd_mod without the CD-ROM's (guest.sh's scripts load them all).
send 'for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio-rng; do insmod /lib/modules/$m.ko; done; for i in 1 2 3 4 5; do [ -b /dev/vda ] && break; sleep 1; done; echo "virtio drivers: $(ls /dev/vd*)"' 300
send 'for m in scsi_common scsi_mod libata ata_piix crct10dif_common crct10dif_generic crc-t10dif crc64 crc64_rocksoft_generic crc64-rocksoft t10-pi sd_mod; do insmod /lib/modules/$m.ko; done; for i in 1 2 3 4 5; do [ -b /dev/sda ] && break; sleep 1; done; echo "disk drivers: $(ls /dev/sda)"' 300
send 'cat /sys/class/block/vda/size; cat /sys/class/misc/hw_random/rng_current'
send 'dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 | head -1 | sed "s/^/HWRNG/"'
# (busybox's dd prints no byte count here: wc counts them)
send 'dd if=/dev/vda bs=64k count=128 2>/dev/null | wc -c | sed "s/^ */VDA-READ /"' 600
send 'dd if=/dev/sda bs=64k count=128 2>/dev/null | wc -c | sed "s/^ */SDA-READ /"' 600
send 'dd if=/dev/vda bs=64k count=1 2>/dev/null | md5sum | sed "s/^/VDA-SUM /"; dd if=/dev/sda bs=64k count=1 2>/dev/null | md5sum | sed "s/^/SDA-SUM /"' 600
guest_poweroff
sed -n '/BT86-/,$p' "$out" | head -40
check '^BT86-42-OK'
check '^kvm-clock'
check 'Hypervisor detected: KVM'
check 'tsc: Detected 500\.0[0-9]* MHz'
check '^STEAL 0'
if ! tr -d '\r' <"$out" | awk '/^UPTIME/ { exit !($3 > $2) }'; then
  echo "vmm-linux-pv: the guest's uptime did not advance"; fail=1
fi
check '^virtio drivers: /dev/vda'
check '^disk drivers: /dev/sda'
check '^131072'
check '^virtio_rng\.0'
check '^VDA-READ 8388608'
check '^SDA-READ 8388608'
# The same image through both paths: the same first 64 KiB.
vsum=$(tr -d '\r' <"$out" | sed -n 's/^VDA-SUM \([0-9a-f]*\).*/\1/p' | head -1)
ssum=$(tr -d '\r' <"$out" | sed -n 's/^SDA-SUM \([0-9a-f]*\).*/\1/p' | head -1)
want=$(head -c 65536 "$work/vd.img" | md5sum | cut -d' ' -f1)
if [ -z "$vsum" ] || [ "$vsum" != "$want" ]; then
  echo "vmm-linux-pv: /dev/vda's first 64 KiB: '$vsum', want $want"; fail=1
fi
if [ -z "$ssum" ] || [ "$ssum" != "$(head -c 65536 "$img" | md5sum | cut -d' ' -f1)" ]; then
  echo "vmm-linux-pv: /dev/sda's first 64 KiB differ from the image: '$ssum'"; fail=1
fi
if ! tr -d '\r' <"$out" | grep -qE '^HWRNG( [0-9a-f]{2}){16}'; then
  echo "vmm-linux-pv: /dev/hwrng gave nothing"; fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection"
python3 - "$report" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
ev = r["events"]
bad = []
for cls in ("pv.kvmclock_msr", "pv.steal_time_msr", "pv.cpuid_hypervisor_leaf", "exit.io", "exit.wrmsr", "exit.cpuid",
            "exit.external_interrupt", "exit.hlt", "virtio.notify", "virtio.irq",
            "virtio.port_access", "virtio.blk_bytes", "exit.io.virtio", "exit.io.ide",
            "ide.port_access"):
    if ev.get(cls, 0) <= 0:
        bad.append("%s is %s" % (cls, ev.get(cls)))
for cls in ("exit.exception.pf_guest", "exit.invlpg"):
    if cls in ev:
        bad.append("%s under nested paging" % cls)
print("vmm-linux-pv: %d instructions; events: %s" %
      (r["instructions"], ", ".join("%s %d" % kv for kv in ev.items() if kv[1])))
# Per MiB moved on each path (the whole run: firmware, probing, the reads).
mib_v = ev.get("virtio.blk_bytes", 0) / 1048576.0
mib_i = (ev.get("ide.pio_bytes", 0) + ev.get("ide.dma_bytes", 0)) / 1048576.0
if mib_v < 8 or mib_i < 8:
    bad.append("bytes moved: virtio %.1f MiB, IDE %.1f MiB (each read 8 MiB)" % (mib_v, mib_i))
else:
    pv = ev["virtio.port_access"] / mib_v; xv = ev["exit.io.virtio"] / mib_v
    pi = ev["ide.port_access"] / mib_i; xi = ev["exit.io.ide"] / mib_i
    print("vmm-linux-pv: virtio-blk %.1f MiB: %.1f port accesses/MiB, %.1f I/O exits/MiB, "
          "%.1f kicks/MiB, %.1f interrupts/MiB" %
          (mib_v, pv, xv, ev["virtio.notify"] / mib_v, ev["virtio.irq"] / mib_v))
    print("vmm-linux-pv: IDE %.1f MiB (PIO %d, DMA %d bytes): %.1f port accesses/MiB, "
          "%.1f I/O exits/MiB" % (mib_i, ev.get("ide.pio_bytes", 0), ev.get("ide.dma_bytes", 0), pi, xi))
    # The point of paravirtual I/O: far fewer exits per MiB than IDE.
    if not xv < xi:
        bad.append("virtio-blk did not take fewer I/O exits per MiB than IDE")
if bad:
    print("vmm-linux-pv: " + "; ".join(bad)); sys.exit(1)
PY
[ $fail = 0 ] && echo "vmm-linux-pv: ok"
exit $fail
