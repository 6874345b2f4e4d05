#!/usr/bin/env bash
# System test: machine reset. A boot sector counts its boots in a CMOS byte
# (battery-backed: a reset keeps it), prints "<B{count}S{x}>" on COM1, where
# x is the low digit of COM2's scratch register, then writes 0x5A to that
# register and resets the machine, each boot another way: port 0xCF9,
# port 0x92 bit 0, the 8042's reset pulse, a triple fault. Every reset
# must bring SeaBIOS up again with the devices at their power-on state (the
# UART's scratch register reads 0 again: "S0"; unreset it would show "S:").
# The fifth boot idles until the monitor's system_reset; the sixth halts.
# With -no-reboot the first reset ends bt86 instead.
#   reset.sh BT86
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "reset: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0

python3 - "$tmp/disk.img" <<'PY'
import sys
def assemble(items):
    """Bytes, and (opcode, label) short jumps; 'name:' defines a label."""
    flat = []
    for it in items:  # a list of pieces counts as its pieces
        flat.extend(it if isinstance(it, list) and it and not isinstance(it[0], int) else [it])
    items, labels = flat, {}
    for _ in range(2):
        out = b''
        for it in items:
            if isinstance(it, str):
                labels[it[:-1]] = len(out)
            elif isinstance(it, tuple):
                rel = labels.get(it[1], 0) - (len(out) + 2)
                out += bytes([it[0], rel & 0xFF])
            else:
                out += bytes(it)
    return out
def putc(c): return [0xB0, ord(c), 0xEE]                 # mov al,c; out dx,al
JE, JNE, JMP = 0x74, 0x75, 0xEB
def when(n, label): return [[0x80, 0xFB, n], (JNE, label)]  # cmp bl,n; jne label
code = assemble([
    [0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0, 0xBC, 0x00, 0x7C],  # ds = ss = 0, sp = 7C00h
    [0xB0, 0x4E, 0xE6, 0x70, 0xE4, 0x71, 0x88, 0xC3],        # bl = CMOS[4Eh] (boot count)
    [0xBA, 0xFF, 0x02, 0xEC, 0x88, 0xC7],                    # bh = COM2 scratch
    [0xBA, 0xF8, 0x03], putc('<'), putc('B'),
    [0x88, 0xD8, 0x04, 0x30, 0xEE],                          # count digit
    putc('S'), [0x88, 0xF8, 0x24, 0x0F, 0x04, 0x30, 0xEE],   # scratch & 0Fh as a digit
    putc('>'), putc('\r'), putc('\n'),
    [0xB0, 0x4E, 0xE6, 0x70, 0x88, 0xD8, 0xFE, 0xC0, 0xE6, 0x71],  # CMOS[4Eh] = count + 1
    [0xBA, 0xFF, 0x02, 0xB0, 0x5A, 0xEE],                    # COM2 scratch = 5Ah
    when(0, 'l1'), [0xBA, 0xF9, 0x0C, 0xB0, 0x06, 0xEE], (JMP, 'hang'),  # 0xCF9: RST_CPU|SYS_RST
    'l1:', when(1, 'l2'), [0xE4, 0x92, 0x0C, 0x01, 0xE6, 0x92], (JMP, 'hang'),  # port 92h bit 0
    'l2:', when(2, 'l3'), [0xB0, 0xFE, 0xE6, 0x64], (JMP, 'hang'),   # 8042: pulse reset
    'l3:', when(3, 'l4'), [0x0F, 0x01, 0x1E, 0xF0, 0x7D, 0xCC], (JMP, 'hang'),  # lidt [7DF0h] (limit 0); int3
    'l4:', when(4, 'l5'), 'idle:', [0xFB, 0xF4], (JMP, 'idle'),  # sti; hlt: wait for the monitor
    'l5:', [0xFA, 0xF4],                                     # cli; hlt: the end
    'hang:', (JMP, 'hang'),
])
assert len(code) < 0x1F0
sector = code.ljust(0x1F0, b'\0') + bytes(14) + b'\x55\xaa'  # 7DF0h: a null IDT pointer
open(sys.argv[1], 'wb').write(sector.ljust(1 << 20, b'\0'))
PY

wait_for() { # FILE TEXT SECONDS
  for _ in $(seq 1 "$3"); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 1
  done
  grep -qF -- "$2" "$1" 2>/dev/null
}

# Guest resets, then the monitor's.
mkfifo "$tmp/mon"
"$bt86" -bios "$bios" -hda "$tmp/disk.img" -snapshot -display none -monitor stdio \
  -serial "file:$tmp/serial.log" <"$tmp/mon" >"$tmp/monitor.out" 2>&1 &
pid=$!
exec 3>"$tmp/mon"
if wait_for "$tmp/serial.log" "<B4S0>" 240; then
  echo "system_reset" >&3
  wait_for "$tmp/serial.log" "<B5S0>" 120
fi
for _ in $(seq 1 60); do kill -0 $pid 2>/dev/null || break; sleep 1; done
exec 3>&-
got=$(grep -ao "<B[0-9]S.>" "$tmp/serial.log" | tr -d '\n')
if [ "$got" != "<B0S0><B1S0><B2S0><B3S0><B4S0><B5S0>" ]; then
  echo "reset: boots seen: '$got', wanted <B0S0> to <B5S0>"
  tail -c 600 "$tmp/serial.log"; cat "$tmp/monitor.out"; fail=1
else
  echo "reset: 0xCF9, port 0x92, 8042 pulse, triple fault and system_reset each rebooted a clean machine"
fi
banners=$(grep -ac "SeaBIOS (version" "$tmp/serial.log")
if [ "$banners" != 6 ]; then echo "reset: SeaBIOS started $banners times, wanted 6"; fail=1; fi
if kill -0 $pid 2>/dev/null; then echo "reset: bt86 still running after the final halt"; fail=1; fi
pid=

# -no-reboot: the first reset ends bt86.
out=$(timeout 120 "$bt86" -bios "$bios" -hda "$tmp/disk.img" -snapshot -display none \
        -serial "file:$tmp/serial2.log" -no-reboot </dev/null 2>&1)
got=$(grep -ao "<B[0-9]S.>" "$tmp/serial2.log" | tr -d '\n')
if [ "$got" != "<B0S0>" ] || ! grep -q "no-reboot" <<<"$out"; then
  echo "reset: -no-reboot: boots '$got', bt86 said: $out"; fail=1
else
  echo "reset: -no-reboot: exited at the first reset"
fi
[ $fail = 0 ] && echo "reset: ok"
exit $fail
