#!/usr/bin/env bash
# System test, quick: the SSE2 loop ROM (tests/guest/sse-bench.s, no
# firmware) under every engine must print the same results; under the jit
# its loop is one run of inline SSE code (src/dbt/jit_x86_64/sse.c.inc).
# Usage: sse-bench.sh BT86 [ITERS] (default 300; above 1000 the
# interpreter is left out). Prints each engine's wall time.
# Skips (77) without binutils (as, ld, objcopy).
bt86=$1
iters=${2:-300}
src=$(dirname "$0")/../guest/sse-bench.s
for t in as ld objcopy; do
  command -v $t >/dev/null || { echo "sse-bench: skipped: $t not found (binutils)"; exit 77; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
as --32 --defsym ITERS="$iters" "$src" -o "$dir/s.o" &&
  ld -m elf_i386 -Ttext 0xFFFF0000 "$dir/s.o" -o "$dir/s.elf" &&
  objcopy -O binary "$dir/s.elf" "$dir/s.rom" || { echo "sse-bench: cannot build the ROM"; exit 1; }
ref=
for engine in jit threaded interp; do
  [ "$iters" -gt 1000 ] && [ "$engine" = interp ] && continue
  start=$(date +%s.%N)
  out=$(timeout 600 "$bt86" -accel "$engine" -bios "$dir/s.rom" -display none -serial stdio \
    -monitor none </dev/null 2>"$dir/err" | head -1)
  end=$(date +%s.%N)
  if ! grep -q 'halted with nothing left to wake it' "$dir/err"; then
    echo "sse-bench: $engine did not stop at the final HLT:"; cat "$dir/err"; exit 1
  fi
  echo "sse-bench: $engine: $out ($(awk "BEGIN { printf \"%.2f\", $end - $start }") s)"
  if [ -z "$ref" ]; then
    ref=$out
  elif [ "$out" != "$ref" ]; then
    echo "sse-bench: $engine printed '$out', jit '$ref'"; exit 1
  fi
done
case $ref in
  [0-9a-f]*' '[0-9a-f]*) ;;
  *) echo "sse-bench: no result line"; exit 1 ;;
esac
echo "sse-bench: ok"
