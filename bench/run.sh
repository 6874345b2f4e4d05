#!/usr/bin/env bash
# Benchmarks: boot the default guest (images/out/disk.img) with each bt86
# engine and, if it is installed, with qemu-system-i386 -accel tcg (same
# image, same memory), and time on the host, for each:
#   boot     power-on to the shell prompt
#   sha256   sha256sum of 16 MiB            (integer work)
#   gzip     gzip -1 of 4 MiB               (integer work, memory)
#   float    an awk floating-point loop      (x87; busybox awk has no sqrt)
#   fork     200 fork/exec of /bin/true      (page tables, TLB, exceptions)
#   syscall  dd of 200,000 one-byte blocks   (system calls)
# It prints seconds per row and the ratio bt86/QEMU (below 1.0: bt86 is
# faster). Nothing here is a pass/fail test; see docs/STATUS.md for results.
#   bench/run.sh [ENGINES...]      (default: interp threaded)
# QEMU comes from Debian: apt-get install qemu-system-x86 (not needed by the
# tests; without it the QEMU columns are left out).
# Environment: BT86 (path of the bt86 binary, default build/bt86), QEMU
# (default qemu-system-i386), MEM (MiB, default 256), BASE (path of an
# older bt86 binary: each engine also runs with it, in columns ENGINE@base,
# so a change is compared with what it replaces in the same run), PTI=1
# (also boot the PAE variant, images/out/pae, by -kernel/-initrd with the
# first engine, under -cpu max and -cpu coreduo: columns pae-max and
# pae-coreduo; on coreduo Debian's PAE kernel turns page-table isolation on,
# on max it does not (docs/cpu-models.md): compare their fork and syscall
# rows).
set -u
cd "$(dirname "$0")/.."
bt86=${BT86:-build/bt86}
base=${BASE:-}
qemu=${QEMU:-qemu-system-i386}
mem=${MEM:-256}
img=images/out/disk.img
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=(interp threaded)
if [ ! -x "$bt86" ] || [ ! -r "$img" ]; then
  echo "bench: build bt86 and the default guest first (images/run.sh or tests/run-all.sh)" >&2
  exit 1
fi

rows=(boot sha256 gzip float fork syscall)
declare -A cmd=(
  [sha256]='dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum'
  [gzip]='dd if=/dev/urandom bs=1M count=1 2>/dev/null >/tmp/r; cat /tmp/r /tmp/r /tmp/r /tmp/r | gzip -1 | wc -c'
  [float]="awk 'BEGIN{s=0; for(i=1;i<=300000;i++){x=i; s+=x*x/(x+0.5)-1/x}; printf \"%.10f\\n\", s}'"
  [fork]='i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo forked'
  [syscall]='dd if=/dev/zero of=/dev/null bs=1 count=200000 2>&1 | tail -1'
)
declare -A secs

now() { date +%s.%N; }

# bench_one NAME COMMAND...: boot the guest with COMMAND and time each row.
bench_one() {
  local name=$1
  shift
  local dir out pid t0 t1
  dir=$(mktemp -d)
  out=$dir/out
  mkfifo "$dir/in"
  t0=$(now)
  "$@" <"$dir/in" >"$out" 2>&1 &
  pid=$!
  exec 3>"$dir/in"
  local t=0
  while ! grep -qF 'bt86:/# ' "$out"; do
    sleep 0.2
    t=$((t + 1))
    if [ $t -gt 6000 ] || ! kill -0 $pid 2>/dev/null; then
      echo "bench: $name: no shell prompt" >&2
      kill $pid 2>/dev/null
      exec 3>&-
      rm -rf "$dir"
      return 1
    fi
  done
  t1=$(now)
  secs[$name,boot]=$(awk "BEGIN{print $t1 - $t0}")
  local row n=0
  for row in "${rows[@]:1}"; do
    n=$((n + 1))
    t0=$(now)
    printf '%s; echo BENCH-DONE-%d\n' "${cmd[$row]}" "$n" >&3
    while ! grep -q "^BENCH-DONE-$n" "$out"; do
      sleep 0.05
      kill -0 $pid 2>/dev/null || break
    done
    t1=$(now)
    secs[$name,$row]=$(awk "BEGIN{print $t1 - $t0}")
  done
  printf 'poweroff -f\n' >&3
  sleep 1
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  exec 3>&-
  cp "$out" "bench/last-$name.log"
  rm -rf "$dir"
}

names=()
for e in "${engines[@]}"; do
  echo "bench: bt86 -accel $e ..." >&2
  bench_one "$e" "$bt86" -accel "$e" -m "$mem" -hda "$img" -snapshot -nographic -no-reboot && names+=("$e")
  if [ -n "$base" ]; then
    echo "bench: base bt86 -accel $e ..." >&2
    bench_one "$e@base" "$base" -accel "$e" -m "$mem" -hda "$img" -snapshot -nographic -no-reboot &&
      names+=("$e@base")
  fi
done
if [ "${PTI:-0}" = 1 ] && [ -r images/out/pae/vmlinuz ]; then
  for m in max coreduo; do
    echo "bench: bt86 -accel ${engines[0]} -cpu $m, PAE guest ..." >&2
    bench_one "pae-$m" "$bt86" -accel "${engines[0]}" -cpu "$m" -m "$mem" -kernel images/out/pae/vmlinuz \
      -initrd images/out/pae/initrd.gz -append "console=ttyS0,115200 quiet nokaslr" -nographic -no-reboot &&
      names+=("pae-$m")
  done
fi
have_qemu=0
if command -v "$qemu" >/dev/null; then
  echo "bench: $qemu -accel tcg ..." >&2
  bench_one qemu "$qemu" -accel tcg -m "$mem" -drive "file=$img,format=raw,if=ide,snapshot=on" \
    -nographic -no-reboot && { names+=(qemu); have_qemu=1; }
fi

echo "bt86 benchmarks, $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
printf '%-8s' row
for n in "${names[@]}"; do printf '%12s' "$n"; done
[ $have_qemu = 1 ] && for n in "${names[@]}"; do [ "$n" = qemu ] || printf '%14s' "$n/qemu"; done
echo
for row in "${rows[@]}"; do
  printf '%-8s' "$row"
  for n in "${names[@]}"; do printf '%12.2f' "${secs[$n,$row]:-0}"; done
  if [ $have_qemu = 1 ]; then
    for n in "${names[@]}"; do
      [ "$n" = qemu ] && continue
      printf '%14.2f' "$(awk "BEGIN{print ${secs[$n,$row]:-0} / ${secs[qemu,$row]:-1}}")"
    done
  fi
  echo
done
