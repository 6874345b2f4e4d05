#!/usr/bin/env bash
# Build bt86 and run the default machine. Until the PC platform and the
# default Debian guest exist (see docs/STATUS.md), this boots Debian's
# SeaBIOS on the bare CPU and shows its debug console.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
exec build/bt86 -m 128 -bios /usr/share/seabios/bios.bin -nographic "$@"
