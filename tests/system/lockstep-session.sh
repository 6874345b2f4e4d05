#!/usr/bin/env bash
# System test: the lockstep checker through a whole session of the default
# guest. The jit and the interpreter boot Linux to its shell side by side
# (compared every 10000 instructions, all of RAM every 2.56 million), then
# both get the same typed commands, which exercise what the benchmarks
# time: an awk floating-point loop, fork/exec, sha256sum and one-byte
# system calls; then poweroff. Any divergence fails. About 7 minutes.
#   lockstep-session.sh BT86 [IMAGE] [ENGINE]
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
engine=${3:-jit}
if [ ! -r "$img" ] || [ ! -r /usr/share/seabios/bios.bin ]; then
  if [ "${BT86_REQUIRE_LINUX:-0}" = 1 ]; then
    echo "lockstep-session: $img missing (run images/build-default.sh)"
    exit 1
  fi
  echo "lockstep-session: skipped: $img not built (images/build-default.sh)"
  exit 77
fi
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$bt86" -m 128 -hda "$img" -nographic -accel "$engine" -lockstep 10000 \
  -max-insns 30000000000 <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
exec 3>"$dir/in"
# wait_for TEXT SECONDS
wait_for() {
  local t=0
  while ! grep -qF "$1" "$dir/out"; do
    sleep 1
    t=$((t + 1))
    if [ $t -gt "$2" ] || ! kill -0 $pid 2>/dev/null; then
      grep -qF "$1" "$dir/out" && return 0 # it came with the exit
      tail -n 20 "$dir/out"
      echo "lockstep-session: FAILED: no '$1' after $t s"
      exit 1
    fi
  done
}
wait_for 'bt86:/# ' 1500
printf '%s\n' "awk 'BEGIN{s=0; for(i=1;i<=20000;i++){x=i; s+=x*x/(x+0.5)-1/x}; printf \"%.10f\\n\", s}'; i=0; while [ \$i -lt 10 ]; do /bin/true; i=\$((i+1)); done; dd if=/dev/zero bs=1k count=128 2>/dev/null | sha256sum; dd if=/dev/zero of=/dev/null bs=1 count=2000 2>/dev/null; echo SESSION-DONE" >&3
wait_for 'SESSION-DONE' 900
printf 'poweroff -f\n' >&3
wait_for 'lockstep: ' 300
wait $pid
status=$?
tail -n 8 "$dir/out"
if [ $status -ne 0 ] || ! grep -q "lockstep: no divergence" "$dir/out"; then
  echo "lockstep-session: FAILED (exit status $status)"
  exit 1
fi
# The session really ran: sha256 of 128 KiB of zeros.
grep -q '^fa43239bcee7b97ca62f007cc68487560a39e19f74f3dde7486db3f98df8e471' "$dir/out" || {
  echo "lockstep-session: FAILED: the commands did not run"
  exit 1
}
echo "lockstep-session: ok"
