#!/usr/bin/env bash
# Install the Debian 12 packages bt86 needs to build, test and run
# (libclang-rt-14-dev: clang's libFuzzer and sanitizer runtimes, for the
# fuzz build, tests/fuzz; qemu-utils: qemu-img, which the qcow2 tests use to
# make and check images; libslirp-dev: the user-mode network stack behind
# -nic user; tcpdump: system-linux-net reads the guest's pcap with it;
# ipxe, ipxe-qemu: system-linux-ipxe/-pxe network-boot with ipxe.lkrn and
# the e1000's boot ROM; gcc-multilib: gcc -m32 for the guest's SSE test
# program, images/build-default.sh; xz-utils: images/kernel-map.sh unpacks
# the kernel for its export table).
# Safe to run repeatedly: it installs only what is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcapstone-dev libglib2.0-dev check
      libsdl2-dev zlib1g-dev libunicorn-dev seabios
      clang libclang-rt-14-dev mtools dosfstools syslinux cpio isolinux syslinux-common xorriso gdb qemu-utils
      libslirp-dev tcpdump ipxe ipxe-qemu gcc-multilib xz-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
