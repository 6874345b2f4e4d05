#!/usr/bin/env bash
# Run one fuzz target for a fixed time on its corpus (the ctests fuzz-*).
#   run.sh TARGET SEED_CORPUS WORK_DIR SECONDS [libFuzzer options...]
# New inputs go to WORK_DIR/corpus (the seed corpus in the source tree is
# only read); a crashing input is written to WORK_DIR/ as crash-<sha1>.
# Exit status: 0 when the target ran the whole time without a crash.
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
shift 4
mkdir -p "$work/corpus"
exec "$target" -seed=1 -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "$@" "$work/corpus" "$seeds"
