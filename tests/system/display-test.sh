#!/usr/bin/env bash
# System test: the VGA with Debian's SeaVGABIOS (vgabios-stdvga.bin) shows
# SeaBIOS's text screen. bt86 boots a disk whose boot sector prints a line
# through INT 10h and then spins, with no window (-display none) and the
# monitor on a pipe; once the serial console (SeaBIOS mirrors its screen
# there) shows that line, the screen no longer changes, and the test asks the
# monitor for a screendump and decodes the PNG: every 9x16 text cell is
# matched against the 8x16 font found inside the same VGA BIOS image, so the
# picture must read "SeaBIOS (version ..." and the boot sector's line in the
# right places and colours. A second boot sector draws a pixel in mode 13h
# (INT 10h AX=13h), waits for a key (sent by the monitor's sendkey), then
# sets VBE mode 101h (640x480x8, DISPI) and draws a pixel through bank 1 of
# the 0xA0000 window; both screendumps must show exactly that pixel. A third
# boot sector goes through the CGA modes 4, 5 (palette 0) and 6 and the
# planar modes 0Dh, 0Eh, 10h and 12h, drawing pixels with INT 10h AH=0Ch; each
# screendump must show exactly those pixels in the BIOS's colours. With SDL
# built in, a second run opens the window through
# SDL's dummy video driver. Skips (77) without seabios or python3.
set -u
bt86=$1
bios=/usr/share/seabios/bios.bin
vgabios=/usr/share/seabios/vgabios-stdvga.bin
for f in "$bios" "$vgabios"; do
  if [ ! -r "$f" ]; then echo "display-test: skipped: $f not found (apt-get install seabios)"; exit 77; fi
done
command -v python3 >/dev/null || { echo "display-test: skipped: no python3"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; exec 3>&- 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0

# Boot sector: print MSG with INT 10h AH=0Eh, then jmp $.
python3 - "$tmp/disk.img" <<'PY'
import sys
code = bytes([0x31, 0xC0, 0x8E, 0xD8, 0xBE, 0x17, 0x7C, 0xAC, 0x08, 0xC0, 0x74, 0x09, 0xB4, 0x0E,
              0xBB, 0x07, 0x00, 0xCD, 0x10, 0xEB, 0xF2, 0xEB, 0xFE]) + b'Hello from the boot sector\r\n\0'
sector = code.ljust(510, b'\0') + b'\x55\xaa'
open(sys.argv[1], 'wb').write(sector.ljust(1 << 20, b'\0'))
PY
# Start bt86 on IMAGE with the monitor on fd 3; wait_serial TEXT; stop_guest.
start_guest() {
  rm -f "$tmp/mon" "$tmp/serial.log"
  mkfifo "$tmp/mon"
  "$bt86" -bios "$bios" -hda "$1" -display none -monitor stdio -serial "file:$tmp/serial.log" \
    <"$tmp/mon" >"$tmp/monitor.out" 2>&1 &
  pid=$!
  exec 3>"$tmp/mon"
}
wait_serial() {
  for _ in $(seq 1 240); do
    grep -q "$1" "$tmp/serial.log" 2>/dev/null && return 0
    kill -0 $pid 2>/dev/null || break
    sleep 1
  done
  echo "display-test: '$1' never appeared on COM1"; head "$tmp/serial.log" 2>/dev/null
  return 1
}
stop_guest() {
  echo "quit" >&3
  exec 3>&-
  for _ in $(seq 1 30); do kill -0 $pid 2>/dev/null || break; sleep 1; done
  wait $pid; local rc=$?
  if [ $rc -ne 0 ]; then echo "display-test: bt86 exited with $rc"; cat "$tmp/monitor.out"; fail=1; fi
}

start_guest "$tmp/disk.img"
wait_serial "Hello from the boot sector" || exit 1
echo "screendump $tmp/screen.png" >&3
echo "info registers" >&3
echo "xp/4xb 0xb8000" >&3
echo "x/2i 0x7c00" >&3
stop_guest
grep -q "EIP=" "$tmp/monitor.out" || { echo "display-test: no 'info registers' output"; fail=1; }
# 'S' (0x53) in light grey (0x07), 'e' (0x65): the first cells of the screen.
grep -q "000b8000: 0x53 0x07 0x65 0x07" "$tmp/monitor.out" || { echo "display-test: xp of the text buffer"; cat "$tmp/monitor.out"; fail=1; }
grep -q "0x00007c00:  xor ax, ax" "$tmp/monitor.out" || { echo "display-test: x/i of the boot sector"; fail=1; }

python3 - "$tmp/screen.png" "$vgabios" <<'PY' || fail=1
import struct, sys, zlib
png = open(sys.argv[1], 'rb').read()
rom = open(sys.argv[2], 'rb').read()
assert png[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w, h = 8, b'', 0, 0
while pos < len(png):
    n, = struct.unpack('>I', png[pos:pos + 4]); typ = png[pos + 4:pos + 8]; data = png[pos + 8:pos + 8 + n]
    crc, = struct.unpack('>I', png[pos + 8 + n:pos + 12 + n])
    assert zlib.crc32(typ + data) == crc, 'bad CRC'
    if typ == b'IHDR': w, h = struct.unpack('>II', data[:8]); assert data[8:10] == b'\x08\x02'
    if typ == b'IDAT': idat += data
    pos += 12 + n
raw = zlib.decompress(idat)
assert (w, h) == (720, 400), 'screen is %dx%d, want 720x400 (80x25 text, 9x16 cells)' % (w, h)
stride = 1 + 3 * w
def px(x, y):
    o = y * stride + 1 + 3 * x
    return raw[o:o + 3]
black = b'\0\0\0'
# Each cell as 16 bytes of glyph bits (ink = not black). The ninth column
# is background for text; only the cursor cell lights it.
cursor = []
def cell(r, c):
    rows = []
    for y in range(16):
        bits = 0
        for x in range(8):
            if px(c * 9 + x, r * 16 + y) != black: bits |= 0x80 >> x
        if px(c * 9 + 8, r * 16 + y) != black and (r, c) not in cursor: cursor.append((r, c))
        rows.append(bits)
    return bytes(rows)
cells = [[cell(r, c) for c in range(80)] for r in range(25)]
assert len(cursor) <= 1, 'ninth column lit in %s' % cursor
for (r, c) in cursor: cells[r][c] = bytes(16)  # the cursor sits on a blank cell
# Find the 8x16 font in the VGA BIOS: the 4 KiB window whose glyphs spell row 0.
want = b'SeaBIOS (version '
font = None
for off in range(0, len(rom) - 4096 + 1):
    if all(rom[off + ch * 16:off + ch * 16 + 16] == cells[0][i] for i, ch in enumerate(want)):
        font = rom[off:off + 4096]
        break
assert font, 'row 0 does not read "SeaBIOS (version " in the VGA BIOS font'
glyphs = {}
for ch in range(0x20, 0x7f):
    glyphs.setdefault(font[ch * 16:ch * 16 + 16], chr(ch))
text = [''.join(glyphs.get(cells[r][c], '?') for c in range(80)).rstrip() for r in range(25)]
for line in text:
    if line: print('  |' + line)
assert text[0].startswith('SeaBIOS (version 1.'), text[0]
assert 'Booting from Hard Disk...' in text, 'no "Booting from Hard Disk..." line'
assert text[text.index('Booting from Hard Disk...') + 1] == 'Hello from the boot sector', 'boot sector line'
assert cursor == [(text.index('Hello from the boot sector') + 1, 0)], 'cursor at %s' % cursor
assert '?' not in ''.join(text), 'cells that are not glyphs of the font'
# Text colour: light grey (DAC 0x2A -> 0xAA) on black.
inks = {bytes(px(x, y)) for y in range(16) for x in range(9 * 16) if px(x, y) != black}
assert inks == {b'\xaa\xaa\xaa'}, inks
print('display-test: screendump reads SeaBIOS text correctly')
PY

# -nographic: COM1 on stdio, Ctrl-A c switches to the monitor and back.
rm -f "$tmp/mon"; mkfifo "$tmp/mon"
"$bt86" -bios "$bios" -hda "$tmp/disk.img" -nographic <"$tmp/mon" >"$tmp/nographic.out" 2>&1 &
pid=$!
exec 3>"$tmp/mon"
for _ in $(seq 1 240); do
  grep -q "Hello from the boot sector" "$tmp/nographic.out" && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
printf '\001cxp/2xb 0xb8000\r\001c\001h\001cquit\r' >&3
exec 3>&-
for _ in $(seq 1 30); do kill -0 $pid 2>/dev/null || break; sleep 1; done
wait $pid || { echo "display-test: -nographic run exited with an error"; fail=1; }
grep -q "000b8000: 0x53 0x07" "$tmp/nographic.out" || { echo "display-test: Ctrl-A c monitor"; cat -v "$tmp/nographic.out"; fail=1; }
grep -q "C-a c" "$tmp/nographic.out" || { echo "display-test: Ctrl-A h help"; fail=1; }

# Graphics: mode 13h, a key, VBE 101h through the bank window.
python3 - "$tmp/gfx.img" <<'PY'
import sys
def serial(text):  # mov dx,3F8h; then mov al,ch; out dx,al for each character and '\n'
    return bytes([0xBA, 0xF8, 0x03]) + b''.join(bytes([0xB0, ord(c), 0xEE]) for c in text + '\n')
code = bytes([0xB8, 0x13, 0x00, 0xCD, 0x10,              # mov ax,13h; int 10h
              0xB8, 0x00, 0xA0, 0x8E, 0xC0,              # es = A000h
              0xBF, 0xA1, 0x0C, 0xB0, 0x04, 0xAA])       # [320*10+33] = 4
code += serial('@13h@')
code += bytes([0x30, 0xE4, 0xCD, 0x16])                  # wait for a key (int 16h)
code += bytes([0xB8, 0x02, 0x4F, 0xBB, 0x01, 0x01, 0xCD, 0x10,  # VBE set mode 101h
               0xB8, 0x05, 0x4F, 0x31, 0xDB, 0xBA, 0x01, 0x00, 0xCD, 0x10,  # window A: bank 1
               0xB8, 0x00, 0xA0, 0x8E, 0xC0,
               0xBF, 0x05, 0xF4, 0xB0, 0x04, 0xAA])      # [0xF405] = 4: pixel (5, 200)
code += serial('@vbe@') + bytes([0xEB, 0xFE])
open(sys.argv[1], 'wb').write((code.ljust(510, b'\0') + b'\x55\xaa').ljust(1 << 20, b'\0'))
PY
start_guest "$tmp/gfx.img"
if wait_serial "@13h@"; then
  echo "screendump $tmp/mode13.png" >&3
  echo "sendkey ret" >&3
  if wait_serial "@vbe@"; then echo "screendump $tmp/vbe.png" >&3; else fail=1; fi
else
  fail=1
fi
stop_guest
python3 - "$tmp/mode13.png" "$tmp/vbe.png" <<'PY' || fail=1
import struct, sys, zlib
def lit_pixels(path):
    png = open(path, 'rb').read()
    pos, idat = 8, b''
    while pos < len(png):
        n, = struct.unpack('>I', png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b'IHDR': w, h = struct.unpack('>II', png[pos + 8:pos + 16])
        if png[pos + 4:pos + 8] == b'IDAT': idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw, st = zlib.decompress(idat), 1 + 3 * w
    return w, h, [(x, y, raw[y * st + 1 + 3 * x:y * st + 4 + 3 * x].hex()) for y in range(h) for x in range(w)
                  if raw[y * st + 1 + 3 * x:y * st + 4 + 3 * x] != b'\0\0\0']
got = lit_pixels(sys.argv[1])
assert got == (320, 200, [(33, 10, 'aa0000')]), 'mode 13h: %s' % (got[:2] + (got[2][:4],),)
got = lit_pixels(sys.argv[2])
assert got == (640, 480, [(5, 200, 'aa0000')]), 'VBE 101h: %s' % (got[:2] + (got[2][:4],),)
print('display-test: mode 13h and VBE 640x480x8 screendumps show the drawn pixels')
PY

# CGA and EGA/VGA graphics modes through the VGA BIOS: for each mode, INT 10h
# AH=00h sets it and AH=0Ch writes pixels (the BIOS's own idea of the memory
# layout: CGA's interleaved lines at 0xB8000, planes at 0xA0000), then the
# boot sector says so on COM1 and waits for a key while the test takes a
# screendump. Mode 5 first selects CGA palette 0 (AH=0Bh BH=1), which the
# BIOS programs through the attribute controller. Each picture must have
# the mode's resolution and exactly the drawn pixels lit, in the colours of
# the BIOS's palettes.
python3 - "$tmp/modes.img" <<'PY'
import struct, sys
def serial(text):
    return bytes([0xBA, 0xF8, 0x03]) + b''.join(bytes([0xB0, ord(c), 0xEE]) for c in text + '\n')
def setmode(m): return bytes([0xB8, m, 0x00, 0xCD, 0x10])
def pixel(x, y, colour):  # mov ax,0C00h+colour; mov cx,x; mov dx,y; mov bx,0; int 10h
    return (bytes([0xB8, colour, 0x0C, 0xB9]) + struct.pack('<H', x) + b'\xBA' + struct.pack('<H', y) +
            bytes([0xBB, 0, 0, 0xCD, 0x10]))
key = bytes([0x30, 0xE4, 0xCD, 0x16])
steps = [(0x04, b'', [(0, 0, 1), (319, 1, 2), (100, 199, 3)]),
         (0x05, bytes([0xB4, 0x0B, 0xBB, 0x00, 0x01, 0xCD, 0x10]),  # AH=0Bh BX=0100h: palette 0
          [(1, 3, 1), (2, 3, 2), (3, 4, 3)]),
         (0x06, b'', [(0, 1, 1), (639, 199, 1), (321, 100, 1)]),
         (0x0D, b'', [(5, 7, 9), (319, 199, 14)]),
         (0x0E, b'', [(0, 0, 10), (639, 199, 2)]),
         (0x10, b'', [(2, 2, 1), (639, 349, 12)]),
         (0x12, b'', [(1, 0, 6), (320, 240, 15), (639, 479, 4)])]
code = b''
for mode, extra, pixels in steps:
    code += setmode(mode) + extra + b''.join(pixel(*p) for p in pixels) + serial('@m%02x@' % mode) + key
code += bytes([0xEB, 0xFE])
assert len(code) <= 510, len(code)
open(sys.argv[1], 'wb').write((code.ljust(510, b'\0') + b'\x55\xaa').ljust(1 << 20, b'\0'))
PY
start_guest "$tmp/modes.img"
for m in 04 05 06 0d 0e 10 12; do
  if wait_serial "@m$m@"; then
    echo "screendump $tmp/m$m.png" >&3
    echo "sendkey ret" >&3
  else
    fail=1
    break
  fi
done
stop_guest
python3 - "$tmp" <<'PY' || fail=1
import struct, sys, zlib
def lit_pixels(path):
    png = open(path, 'rb').read()
    pos, idat = 8, b''
    while pos < len(png):
        n, = struct.unpack('>I', png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b'IHDR': w, h = struct.unpack('>II', png[pos + 8:pos + 16])
        if png[pos + 4:pos + 8] == b'IDAT': idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw, st = zlib.decompress(idat), 1 + 3 * w
    return w, h, sorted((x, y, raw[y * st + 1 + 3 * x:y * st + 4 + 3 * x].hex()) for y in range(h) for x in range(w)
                        if raw[y * st + 1 + 3 * x:y * st + 4 + 3 * x] != b'\0\0\0')
# CGA palette 1 and 0 (high intensity), mode 6's white, EGA colours 9 and 14
# (light blue, yellow), 10 and 2 (light green, green), 1 and 12 (blue,
# light red), VGA colours 6, 15, 4 (brown, white, red).
want = {'04': (320, 200, [(0, 0, '55ffff'), (319, 1, 'ff55ff'), (100, 199, 'ffffff')]),
        '05': (320, 200, [(1, 3, '55ff55'), (2, 3, 'ff5555'), (3, 4, 'ffff55')]),
        '06': (640, 200, [(0, 1, 'ffffff'), (321, 100, 'ffffff'), (639, 199, 'ffffff')]),
        '0d': (320, 200, [(5, 7, '5555ff'), (319, 199, 'ffff55')]),
        '0e': (640, 200, [(0, 0, '55ff55'), (639, 199, '00aa00')]),
        '10': (640, 350, [(2, 2, '0000aa'), (639, 349, 'ff5555')]),
        '12': (640, 480, [(1, 0, 'aa5500'), (320, 240, 'ffffff'), (639, 479, 'aa0000')])}
bad = 0
for m, (w, h, px) in want.items():
    got = lit_pixels('%s/m%s.png' % (sys.argv[1], m))
    if got != (w, h, sorted(px)):
        print('display-test: mode %sh: got %dx%d %s, want %dx%d %s' % (m, got[0], got[1], got[2][:8], w, h, px))
        bad = 1
    else:
        print('display-test: mode %sh: %dx%d, the drawn pixels in the right colours' % (m, w, h))
sys.exit(bad)
PY

# The SDL window, headless.
if "$bt86" -help | grep -q -- "-display sdl"; then
  out=$(SDL_VIDEODRIVER=dummy timeout 120 "$bt86" -bios "$bios" -display sdl -serial none -icount shift=1 -max-insns 20000000 2>&1)
  rc=$?
  if grep -q "built without SDL2" <<<"$out"; then
    echo "display-test: SDL smoke skipped: bt86 built without SDL2"
  elif [ $rc -ne 0 ]; then
    echo "display-test: SDL smoke (dummy driver) failed ($rc): $out"; fail=1
  else
    echo "display-test: SDL window ran with the dummy driver"
  fi
fi
[ $fail -eq 0 ] && echo "display-test: 1 passed, 0 failed" || echo "display-test: 0 passed, 1 failed"
exit $fail
