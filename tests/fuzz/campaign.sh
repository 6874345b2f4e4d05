#!/usr/bin/env bash
# A longer fuzzing campaign: every target in turn (one process at a time,
# on one core), SECONDS each, from its seed corpus plus what earlier
# campaigns found (kept in WORK/<target>/corpus). Prints one line per
# target: executions, edges covered (cov), corpus size, crashes.
#   tests/fuzz/campaign.sh BUILD_DIR SECONDS [WORK]
# BUILD_DIR is a -DBT86_FUZZ=ON build (e.g. build-fuzz); WORK defaults to
# BUILD_DIR/tests/fuzz/campaign. Crashing inputs stay in WORK/<target>/.
set -uo pipefail
build=$1 seconds=$2
work=${3:-$build/tests/fuzz/campaign}
here=$(cd "$(dirname "$0")" && pwd)
cpu=$(($(nproc) - 1))
printf '%-14s %10s %8s %8s %s\n' target execs cov corpus crashes
for exe in "$build"/tests/fuzz/fuzz_*; do
    name=${exe##*/fuzz_}
    mkdir -p "$work/$name/corpus"
    log="$work/$name/log.txt"
    taskset -c "$cpu" "$here/run.sh" "$exe" "$here/corpus/$name" "$work/$name" "$seconds" >"$log" 2>&1
    execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(ls "$work/$name/corpus" | wc -l)
    crashes=$(ls "$work/$name" | grep -c -E '^(crash|timeout|oom|leak)-')
    printf '%-14s %10s %8s %8s %s\n' "$name" "${execs:-?}" "${cov:-?}" "$corpus" "$crashes"
done
