#!/usr/bin/env bash
# Build bt86 and the default guest (Debian 12 i386 kernel + busybox, booted
# by SeaBIOS and SYSLINUX from a disk image built by images/build-default.sh
# from Debian packages), then boot it with the serial console on this
# terminal (Ctrl-A x quits). Extra arguments go to bt86.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
images/build-default.sh
# The kernel's System.map next to the image, for -symbols (one short boot
# the first time; nothing once the map is newer than the kernel).
images/kernel-map.sh build/bt86 || echo "run: no System.map (see above); booting anyway" >&2
exec build/bt86 -m 256 -hda images/out/disk.img -nographic "$@"
