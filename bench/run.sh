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
#   cdread   64 MiB read from the CD by dd   (IDE bus-master DMA: the
#            7 MiB cd.iso 9 times, the page cache dropped before each)
#   sse2     bench/sse-bench.c, 2000 rounds  (SSE2: packed and scalar
#            float and double, conversions, integer SIMD; a static i386
#            program built here with gcc -m32 -msse2 -mfpmath=sse)
#   diskread dd of the whole 64 MiB disk      (IDE, the disk back end)
# The CD drivers are loaded (untimed) right after the boot; the CD is
# images/out/cd.iso. For diskread the guest needs the SCSI disk driver,
# which the default initramfs lacks: the script boots a copy of the image
# with a second initramfs holding it (as tests/system/linux-disk-sigkill.sh
# builds it, from images/out/debs; named in SYSLINUX's INITRD line) and
# loads it before the rows; the sse2 row's program is in that initramfs
# too. Without the kernel package or mtools the diskread row is left out,
# without gcc -m32 or mtools the sse2 row.
#   netup    load the e1000 driver, DHCP     (user-mode networking)
#   wget     wget of 16 MiB from the host    (e1000 RX, slirp, TCP)
# The network rows fetch from an HTTP server (python3 -m http.server) on the
# host's 127.0.0.1, which the guest reaches as 10.0.2.2 (bt86 with
# -nic user,restrict=on; QEMU with -nic user,model=e1000, its restrict=on
# would cut the host off). Without python3 they are left out.
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
# rows), VMM (one or more -vmm models, e.g. VMM="none bt": each engine also
# runs with -vmm MODEL, in columns ENGINE+MODEL; with BASE= an older binary
# that has no -vmm option, VMM=none against ENGINE@base is issue 14's "-vmm
# none leaves the jit as fast as before"), ROWS (the rows to run, e.g.
# ROWS="syscall diskread"; boot always runs; default all), GDB (issue 13's
# cost of a debugger, for the first engine only; needs gdb and
# images/out/System.map from images/kernel-map.sh; any of "0 10 watch":
# columns ENGINE+gdb0, ENGINE+gdb10, ENGINE+watch): bt86 runs with
# -gdb tcp::PORT on a free port of 127.0.0.1, and once the shell prompt is
# up and the setup done (the boot row is not under the debugger) Debian's
# gdb attaches in batch mode and continues: gdb0 with no breakpoints; gdb10
# with breakpoints at 10 system-call entry points the rows never call
# (__ia32_sys_ of sethostname, setdomainname, settimeofday, acct,
# kexec_load, swapon, swapoff, uselib, pivot_root, quotactl; addresses from
# the System.map); watch with one write watchpoint on the kernel variable
# overflowuid (4 bytes; written only through its sysctl; its page holds
# the neighbouring overflowgid and fs_overflow* and is not hot). gdb stays
# attached through the rows and leaves (detach) when the guest's power-off
# stops it; if it stopped before (a breakpoint or the watchpoint hit) the
# column is dropped with a message. The ratios to the unattached column
# follow the table, of wall time and of bt86's CPU seconds in the row
# (/proc/PID/stat, 10 ms ticks; steadier than wall time on a busy host).
set -u
cd "$(dirname "$0")/.."
bt86=${BT86:-build/bt86}
base=${BASE:-}
qemu=${QEMU:-qemu-system-i386}
mem=${MEM:-256}
img=images/out/disk.img
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=(interp threaded)
if [ ! -x "$bt86" ] || [ ! -r "$img" ] || [ ! -r images/out/cd.iso ]; then
  echo "bench: build bt86 and the default guest first (images/run.sh or tests/run-all.sh)" >&2
  exit 1
fi

iso=images/out/cd.iso
rows=(boot sha256 gzip float fork syscall cdread)
setup='load-cdrom-drivers >/dev/null 2>&1; i=0; while [ ! -b /dev/sr0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done'
work=$(mktemp -d)
www=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill $server 2>/dev/null; rm -rf "$work" "$www"' EXIT
kdeb=$(ls images/out/debs/linux-image-*-686_*.deb 2>/dev/null | head -1) # not the -686-pae one
mkdir -p "$work/extra/lib/modules" "$work/extra/sbin" "$work/extra/bin"
extra=0
# The SSE2 row's program (bench/sse-bench.c), built here as the image build
# builds tests/guest/sse-check.c (needs gcc-multilib).
if gcc -m32 -static -O2 -msse2 -mfpmath=sse -ftree-vectorize -fno-math-errno \
  -o "$work/extra/bin/sse-bench" bench/sse-bench.c 2>/dev/null; then
  extra=1
  sse_row=1
else
  sse_row=0
  echo "bench: gcc -m32 cannot build bench/sse-bench.c (gcc-multilib): no sse2 row" >&2
fi
disk_row=0
if [ -n "$kdeb" ]; then
  mods="crct10dif_common crct10dif_generic crc-t10dif crc64 crc64_rocksoft_generic crc64-rocksoft t10-pi sd_mod"
  mkdir -p "$work/kernel"
  dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/kernel" --wildcards $(for m in $mods; do echo "*/$m.ko"; done)
  for m in $mods; do cp "$(find "$work/kernel" -name "$m.ko" | head -1)" "$work/extra/lib/modules/"; done
  {
    echo '#!/bin/sh'
    echo 'load-cdrom-drivers >/dev/null 2>&1'
    echo "for m in $mods; do insmod /lib/modules/\$m.ko; done"
    echo 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sda ] && break; sleep 1; done'
  } > "$work/extra/sbin/load-disk-drivers"
  chmod +x "$work/extra/sbin/load-disk-drivers"
  extra=1
  disk_row=1
fi
if [ $extra = 1 ] && command -v mcopy >/dev/null && command -v mtype >/dev/null; then
  (cd "$work/extra" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$work/extra.gz"
  cp "$img" "$work/disk.img"
  mcopy -i "$work/disk.img" "$work/extra.gz" ::/extra.gz
  mtype -i "$work/disk.img" ::/syslinux.cfg | sed 's/^\( *INITRD \)initrd.gz/\1initrd.gz,extra.gz/' > "$work/syslinux.cfg"
  mcopy -o -i "$work/disk.img" "$work/syslinux.cfg" ::/syslinux.cfg
  img=$work/disk.img
else
  sse_row=0
  disk_row=0
fi
[ $sse_row = 1 ] && rows+=(sse2)
if [ $disk_row = 1 ]; then
  rows+=(diskread)
  setup="$setup; load-disk-drivers"
else
  echo "bench: no kernel package in images/out/debs or no mtools: no diskread row" >&2
fi
# The host's HTTP server with a 16 MiB file, for the network rows.
port=
if command -v python3 >/dev/null; then
  head -c 16777216 /dev/urandom > "$www/big"
  python3 -u -m http.server --bind 127.0.0.1 --directory "$www" 0 > "$www/log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do
    port=$(sed -n 's/.*Serving HTTP on 127.0.0.1 port \([0-9]*\).*/\1/p' "$www/log" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.2
  done
fi
[ -n "$port" ] && rows+=(netup wget)
if [ -n "${ROWS:-}" ]; then
  keep=(boot)
  for r in "${rows[@]:1}"; do
    case " $ROWS " in *" $r "*) keep+=("$r") ;; esac
  done
  rows=("${keep[@]}")
fi
declare -A cmd=(
  [sha256]='dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum'
  [gzip]='dd if=/dev/urandom bs=1M count=1 2>/dev/null >/tmp/r; cat /tmp/r /tmp/r /tmp/r /tmp/r | gzip -1 | wc -c'
  [float]="awk 'BEGIN{s=0; for(i=1;i<=300000;i++){x=i; s+=x*x/(x+0.5)-1/x}; printf \"%.10f\\n\", s}'"
  [fork]='i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo forked'
  [syscall]='dd if=/dev/zero of=/dev/null bs=1 count=200000 2>&1 | tail -1'
  [cdread]='i=0; while [ $i -lt 9 ]; do echo 3 >/proc/sys/vm/drop_caches; dd if=/dev/sr0 bs=64k 2>/dev/null | wc -c >/dev/null; i=$((i+1)); done; echo read'
  [sse2]='sse-bench 2000'
  [diskread]='dd if=/dev/sda of=/dev/null bs=64k count=1024 2>&1 | tail -1'
  [netup]='load-net-drivers && ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -T 2 >/dev/null'
  [wget]="wget -q -O - http://10.0.2.2:$port/big | wc -c"
)
declare -A secs

# The debugger columns (GDB=): gdb's script for a mode (0, 10, watch).
gdb_mode=
gdb_port=
gdb_syscalls="sethostname setdomainname settimeofday acct kexec_load swapon swapoff uselib pivot_root quotactl"
gdb_watch_var=overflowuid
gdb_script() {
  local map=images/out/System.map a
  echo 'set pagination off'
  echo 'set confirm off'
  echo 'set architecture i386'
  echo "target remote 127.0.0.1:$gdb_port"
  case $1 in
  10)
    for f in $gdb_syscalls; do
      a=$(awk -v n="__ia32_sys_$f" '$3 == n {print $1; exit}' "$map")
      [ -n "$a" ] || return 1
      echo "break *0x$a"
    done
    ;;
  watch)
    a=$(awk -v n="$gdb_watch_var" '$2 ~ /^[DdBb]$/ && $3 == n {print $1; exit}' "$map")
    [ -n "$a" ] || return 1
    echo "watch *(unsigned int *)0x$a"
    ;;
  esac
  echo 'echo @continuing\n'
  echo 'continue'
  echo 'echo @stopped\n'
  echo 'p/x $eip'
  echo 'detach'
}

now() { date +%s.%N; }
# CPU seconds (user + system, all threads) a process has used so far: the
# debugger columns' ratios use them too, as wall time swings on a busy host.
hz=$(getconf CLK_TCK)
cpu_of() { awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A cpus

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
  cpus[$name,boot]=$(cpu_of $pid)
  local c0 c1
  local row n=0
  if [ -n "$setup" ]; then # not timed
    printf '%s; echo BENCH-SETUP-DONE\n' "$setup" >&3
    while ! grep -q "^BENCH-SETUP-DONE" "$out"; do
      sleep 0.2
      kill -0 $pid 2>/dev/null || break
    done
  fi
  local gpid='' gout=$dir/gdb.out
  if [ -n "$gdb_mode" ]; then # attach gdb, not timed
    if ! gdb_script "$gdb_mode" >"$dir/gdb.cmd"; then
      echo "bench: $name: a symbol is missing from images/out/System.map" >&2
      gdb_mode=fail
    else
      gdb -batch -nx -x "$dir/gdb.cmd" >"$gout" 2>&1 &
      gpid=$!
      t=0
      while ! grep -q '^@continuing' "$gout" 2>/dev/null; do
        sleep 0.1
        t=$((t + 1))
        if [ $t -gt 300 ] || ! kill -0 $gpid 2>/dev/null; then
          echo "bench: $name: gdb did not attach and continue:" >&2
          cat "$gout" >&2
          gdb_mode=fail
          break
        fi
      done
      sleep 1 # the breakpoints go in as gdb resumes the guest
    fi
  fi
  for row in "${rows[@]:1}"; do
    n=$((n + 1))
    c0=$(cpu_of $pid)
    t0=$(now)
    printf '%s; echo BENCH-DONE-%d\n' "${cmd[$row]}" "$n" >&3
    while ! grep -q "^BENCH-DONE-$n" "$out"; do
      sleep 0.05
      kill -0 $pid 2>/dev/null || break
    done
    t1=$(now)
    c1=$(cpu_of $pid)
    secs[$name,$row]=$(awk "BEGIN{print $t1 - $t0}")
    cpus[$name,$row]=$(awk "BEGIN{print $c1 - $c0}")
  done
  if [ -n "$gpid" ] && [ "$gdb_mode" != fail ] && { ! kill -0 $gpid 2>/dev/null || grep -q '^@stopped' "$gout"; }; then
    echo "bench: $name: gdb stopped the guest during the rows (no figures):" >&2
    cat "$gout" >&2
    gdb_mode=fail
  fi
  printf 'poweroff -f\n' >&3
  sleep 1
  if [ -n "$gpid" ]; then # the power-off stops in gdb, which detaches
    t=0
    while kill -0 $gpid 2>/dev/null && [ $t -lt 300 ]; do
      sleep 0.1
      t=$((t + 1))
    done
    kill $gpid 2>/dev/null
    wait $gpid 2>/dev/null
    if [ "$gdb_mode" != fail ] &&
      { ! grep -q 'switched the machine off' "$gout" || grep -qE '^(Breakpoint [0-9]+, |Old value = )' "$gout"; }; then
      echo "bench: $name: gdb did not stay attached until the power-off (no figures):" >&2
      cat "$gout" >&2
      gdb_mode=fail
    fi
    cp "$gout" "bench/last-$name.gdb.log"
  fi
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  exec 3>&-
  cp "$out" "bench/last-$name.log"
  rm -rf "$dir"
  [ "$gdb_mode" != fail ]
}

names=()
for e in "${engines[@]}"; do
  echo "bench: bt86 -accel $e ..." >&2
  bench_one "$e" "$bt86" -accel "$e" -m "$mem" -hda "$img" -cdrom "$iso" -snapshot -nographic \
    -no-reboot -nic user,restrict=on && names+=("$e")
  for m in ${VMM:-}; do
    echo "bench: bt86 -accel $e -vmm $m ..." >&2
    bench_one "$e+$m" "$bt86" -accel "$e" -vmm "$m" -m "$mem" -hda "$img" -cdrom "$iso" -snapshot \
      -nographic -no-reboot -nic user,restrict=on && names+=("$e+$m")
  done
  if [ "$e" = "${engines[0]}" ] && [ -n "${GDB:-}" ]; then
    if ! command -v gdb >/dev/null || [ ! -r images/out/System.map ]; then
      echo "bench: GDB= needs gdb and images/out/System.map (images/kernel-map.sh)" >&2
    else
      for g in $GDB; do
        case $g in 0 | 10) col=$e+gdb$g ;; watch) col=$e+watch ;; *)
          echo "bench: GDB=: unknown mode $g (0, 10, watch)" >&2
          continue
          ;;
        esac
        gdb_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        echo "bench: bt86 -accel $e -gdb tcp::$gdb_port, gdb attached ($g) ..." >&2
        gdb_mode=$g
        bench_one "$col" "$bt86" -accel "$e" -gdb "tcp::$gdb_port" -m "$mem" -hda "$img" -cdrom "$iso" \
          -snapshot -nographic -no-reboot -nic user,restrict=on && names+=("$col")
        gdb_mode=
      done
    fi
  fi
  if [ -n "$base" ]; then
    echo "bench: base bt86 -accel $e ..." >&2
    # (no -nic: a base from before networking refuses it; its netup and
    # wget rows then time a failure, ignore them)
    bench_one "$e@base" "$base" -accel "$e" -m "$mem" -hda "$img" -cdrom "$iso" -snapshot -nographic \
      -no-reboot &&
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
    -cdrom "$iso" -nic user,model=e1000 -nographic -no-reboot && { names+=(qemu); have_qemu=1; }
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
if [ -n "${GDB:-}" ]; then
  for n in "${names[@]}"; do
    case $n in "${engines[0]}"+gdb* | "${engines[0]}"+watch) ;; *) continue ;; esac
    printf '%s / %s:' "$n" "${engines[0]}"
    for row in "${rows[@]}"; do
      printf ' %s %.3f (CPU %.2f / %.2f s: %.3f)' "$row" \
        "$(awk "BEGIN{print ${secs[$n,$row]:-0} / ${secs[${engines[0]},$row]:-1}}")" \
        "${cpus[$n,$row]:-0}" "${cpus[${engines[0]},$row]:-0}" \
        "$(awk "BEGIN{c = ${cpus[${engines[0]},$row]:-0}; print (c > 0 ? ${cpus[$n,$row]:-0} / c : 0)}")"
    done
    echo
  done
fi
