#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds bt86 six times and
# runs the tests of four of those builds through ctest:
#   build/                normal RelWithDebInfo build (gcc): every test
#   build-asan/           AddressSanitizer+UndefinedBehaviorSanitizer (gcc): every test but Linux boots
#   build-release/        Release (gcc): unit, conformance, differential and golden tests
#   build-clang/          clang, RelWithDebInfo (compiled warning-free, not run: same code)
#   build-clang-release/  clang, Release (compiled warning-free, not run)
#   build-fuzz/           clang, libFuzzer + ASan + UBSan: each fuzz target runs a few seconds on its corpus
set -euo pipefail
cd "$(dirname "$0")/.."
tests/install-deps.sh
jobs=$(nproc)

# clang must compile everything warning-free too (not run: same code), in
# the default and the Release build type.
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build-clang -j"$jobs"
CC=clang cmake -S . -B build-clang-release -DCMAKE_BUILD_TYPE=Release
cmake --build build-clang-release -j"$jobs"

# Release (-O3, NDEBUG) with gcc: built warning-free, and its unit,
# conformance and differential tests run (they take well under a minute).
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
cmake --build build-release -j"$jobs"
(cd build-release && ctest --output-on-failure -j"$jobs" -R '^(unit|ssts|diff|golden)-')

# The default guest (Debian packages) for the Linux boot system test.
images/build-default.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
# The default kernel's System.map next to the image (for -symbols).
images/kernel-map.sh build/bt86
(cd build && BT86_REQUIRE_LINUX=1 ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBT86_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")

# The fuzz targets (tests/fuzz/README.md), one process at a time: a few
# seconds each on its corpus (under a minute in all).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBT86_FUZZ=ON
cmake --build build-fuzz -j"$jobs" --target fuzz
(cd build-fuzz && ctest --output-on-failure -L fuzz)
