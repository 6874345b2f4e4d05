#!/usr/bin/env bash
# Long runs of the hostile guest (tests/hostile/README.md): COUNT seeds
# from FIRST, ITERATIONS each, cycling through the flag combinations
# (0: plain, 1: reset lines too, 2: aims at itself, 3: both), through
# tests/system/hostile-guest.sh. A failing seed is printed with its flags;
# rerun it alone with HOSTILE_SEEDS="SEED:FLAGS" (the run is deterministic:
# -icount and a fixed RTC date).
#   many-seeds.sh BT86 ROM [FIRST] [COUNT] [ITERATIONS]
# e.g. many-seeds.sh build-asan/bt86 build-asan/tests/hostile/hostile.bin 1000 200 200000
set -u
bt86=$1
rom=$2
first=${3:-100}
count=${4:-100}
iterations=${5:-200000}
seeds=""
for i in $(seq 0 $((count - 1))); do
  seed=$((first + i))
  case $((i % 8)) in
    5) seeds="$seeds $seed:1" ;;
    6) seeds="$seeds $seed:2" ;;
    7) seeds="$seeds $seed:3" ;;
    *) seeds="$seeds $seed" ;;
  esac
done
HOSTILE_SEEDS=$seeds HOSTILE_ITERATIONS=$iterations HOSTILE_LIMIT=${HOSTILE_LIMIT:-600} \
  exec nice "$(dirname "$0")/../system/hostile-guest.sh" "$bt86" "$rom"
