#!/usr/bin/env bash
# System test: savevm / loadvm (docs/architecture.md, "Snapshots"). One
# Linux boot of the default guest with deterministic time (-icount
# shift=1, a fixed -rtc). At its shell prompt the monitor saves the
# machine and, in the same read of stdin, the guest gets a command that
# reads its clocks and powers off:
#   run A  (the original session): savevm, then CMD; its answer and the
#          instruction count at power-off (-dbt-stats) are the reference;
#   run B  a new bt86 with -loadvm (same options) and CMD on stdin: the
#          same answer byte for byte, the same instruction count;
#   run C  a new bt86 with -loadvm that first does other work in the
#          guest (the machine moves on), then the monitor's loadvm
#          mid-session, then CMD: the same answer and count again;
#   run D  as B under the interpreter (-accel interp): the same again.
# Then the refusals: a truncated file, a flipped byte, another RAM size,
# another disk image or set, and a file that is no snapshot each give a
# clear message and exit status 1.
#   snapshot.sh BT86 [IMAGE] [ENGINE]
bt86=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
img=${2:-$(dirname "$0")/../../images/out/disk.img}
engine=${3:-jit}
img=$(cd "$(dirname "$img")" 2>/dev/null && pwd)/$(basename "$img")
. "$(dirname "$0")/guest.sh"
guest_need snapshot "$img"
opts=(-m 128 -hda "$img" -snapshot -nographic -icount shift=1 -rtc base=2026-01-01T12:00:00
      -accel "$engine" -dbt-stats)
CMD='cat /proc/uptime; date; poweroff -f'
esc=$'\001c'

# Run A: boot, then savevm and CMD in one write (one read by bt86). bt86
# runs in the directory that gets the file, so the monitor line is short.
work=$(mktemp -d)
cd "$work" || exit 1
guest_start "$bt86" "${opts[@]}"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir" "$work"' EXIT
guest_wait_prompt
printf '%s' "${esc}savevm s.snap"$'\n'"${esc}${CMD}"$'\n' >&3
for _ in $(seq 1 300); do kill -0 $pid 2>/dev/null || break; sleep 1; done
wait $pid
cp "$out" "$dir/a.log"
[ -s "$work/s.snap" ] || { echo "snapshot: savevm wrote no file"; tail -c 3000 "$out"; exit 1; }
echo "snapshot: saved $(stat -c %s "$work/s.snap") bytes"

# The guest's answer after the save point (from the echo of CMD on) and
# the instruction count at power-off.
answer() { sed -n "/$(printf '%s' "$CMD" | sed 's/[/.*]/\\&/g')/,\$p" "$1" | tail -n +2 | grep -v '^bt86: \|^dbt' ; }
count() { grep -o 'bt86: engine [a-z]*, [0-9]* instructions' "$1" | grep -o '[0-9]* instructions'; }

# Run B: straight from the file.
printf '%s\n' "$CMD" >"$dir/b.in"
(cd "$work" && timeout 300 "$bt86" "${opts[@]}" -loadvm s.snap <"$dir/b.in" >"$dir/b.log" 2>&1)

# Run D: as B, under the interpreter (translations are not in the file).
(cd "$work" && timeout 600 "$bt86" "${opts[@]}" -accel interp -loadvm s.snap <"$dir/b.in" >"$dir/d.log" 2>&1)

# Run C: from the file, other work, then loadvm from the monitor.
mkfifo "$dir/c.in"
(cd "$work" && exec timeout 300 "$bt86" "${opts[@]}" -loadvm s.snap <"$dir/c.in" >"$dir/c.log" 2>&1) &
cpid=$!
exec 4>"$dir/c.in"
printf 'echo OTHER-$((6*7)); cat /proc/uptime\n' >&4
for _ in $(seq 1 120); do grep -q '^OTHER-42' "$dir/c.log" && break; sleep 1; done
sleep 2
printf '%s' "${esc}loadvm s.snap"$'\n'"${esc}${CMD}"$'\n' >&4
wait $cpid
exec 4>&-

ref=$(answer "$dir/a.log"); nref=$(count "$dir/a.log")
if ! grep -q '^[0-9]*\.[0-9]* [0-9]*\.[0-9]*' <<<"$ref" || [ -z "$nref" ]; then
  echo "snapshot: run A gave no clock reading or count:"; tail -20 "$dir/a.log"; exit 1
fi
echo "snapshot: run A: $(head -3 <<<"$ref" | tr '\r\n' '  ') / $nref"
for run in b c d; do
  got=$(answer "$dir/$run.log"); n=$(count "$dir/$run.log")
  if [ "$got" != "$ref" ] || [ "$n" != "$nref" ]; then
    echo "snapshot: run ${run^^} differs from run A ($n vs $nref):"
    diff <(printf '%s\n' "$ref") <(printf '%s\n' "$got") | head -20
    tail -20 "$dir/$run.log"; echo
    fail=1
  else
    echo "snapshot: run ${run^^}: identical answer and count"
  fi
done
grep -q '^OTHER-42' "$dir/c.log" || { echo "snapshot: run C did no other work first"; fail=1; }

# Refusals: a clear message, exit status 1, never a crash.
refuse() {
  local what=$1 pattern=$2 file=$3 rc said
  shift 3
  said=$(timeout 60 "$bt86" "${opts[@]}" "$@" -loadvm "$file" </dev/null 2>&1)
  rc=$?
  if [ $rc -ne 1 ] || ! grep -qE "$pattern" <<<"$said"; then
    echo "snapshot: $what: exit $rc, said: $said (wanted /$pattern/)"; fail=1
  else
    echo "snapshot: $what: $(grep -E "$pattern" <<<"$said")"
  fi
}
size=$(stat -c %s "$work/s.snap")
head -c $((size / 2)) "$work/s.snap" >"$dir/half.snap"
refuse "truncated file" "truncated" "$dir/half.snap"
cp "$work/s.snap" "$dir/flip.snap"
at=$((size / 3))
byte=$(od -An -tu1 -j $at -N1 "$work/s.snap" | tr -d ' ')
printf "\\x$(printf %02x $((255 - byte)))" | dd of="$dir/flip.snap" bs=1 seek=$at conv=notrunc 2>/dev/null
refuse "flipped byte" "checksum" "$dir/flip.snap"
refuse "other RAM size" "RAM" "$work/s.snap" -m 64
cd_img=$(dirname "$img")/cd.iso
[ -r "$cd_img" ] && refuse "another disk image" "another (image|drive or medium)" "$work/s.snap" -hda "$cd_img"
refuse "another disk set" "no 'hdb' section" "$work/s.snap" -hdb "$img"
refuse "not a snapshot" "not a bt86 snapshot" "$img"
[ $fail = 0 ] && echo "snapshot: ok"
exit $fail
