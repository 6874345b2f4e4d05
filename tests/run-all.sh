#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds bt86 three times (a
# normal RelWithDebInfo build, an AddressSanitizer+UndefinedBehaviorSanitizer
# build, and a clang build that must also be warning-free) and runs every
# test of the first two through ctest.
#   build/        normal build (gcc)
#   build-asan/   sanitizer build (gcc)
#   build-clang/  clang build (compiled, not run)
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
jobs=$(nproc)

# clang must compile everything warning-free too (not run: same code).
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-clang -j"$jobs"

# The default guest (Debian packages) for the Linux boot system test.
images/build-default.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && BT86_REQUIRE_LINUX=1 ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBT86_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")
