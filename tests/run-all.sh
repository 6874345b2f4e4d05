#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds bt86 twice (a normal
# RelWithDebInfo build and an AddressSanitizer+UndefinedBehaviorSanitizer
# build) and runs every test of both through ctest.
#   build/       normal build
#   build-asan/  sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBT86_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")
