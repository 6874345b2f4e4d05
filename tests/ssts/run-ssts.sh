#!/usr/bin/env bash
# ctest wrapper for bt86-ssts: skips (exit 77) with a message when the
# shared vectors are not present beside the project.
runner=$1
dir=$2
if [ ! -d "$dir" ]; then
  echo "ssts: skipped: $dir not found"
  exit 77
fi
exec "$runner" "$dir"
