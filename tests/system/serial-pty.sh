#!/usr/bin/env bash
# System test: -serial pty. bt86 must say "char device redirected to
# /dev/pts/N (label serial0)" on stderr; the test opens that terminal and
# types "hello" into it. A boot sector echoes every byte COM1 receives with
# its case swapped, so "HELLO" must come back on the same terminal: input
# and output both go through the pty and the guest's UART.
#   serial-pty.sh BT86
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "serial-pty: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

python3 - "$tmp/disk.img" <<'PY'
import sys
code = bytes([0xBA, 0xFD, 0x03,    # 0: mov dx,3FDh (line status)
              0xEC,                # 3: in al,dx
              0xA8, 0x01,          # 4: test al,1 (data ready)
              0x74, 0xFB,          # 6: jz 3
              0xBA, 0xF8, 0x03,    # 8: mov dx,3F8h
              0xEC,                # 11: in al,dx
              0x34, 0x20,          # 12: xor al,20h (swap case)
              0xEE,                # 14: out dx,al
              0xEB, 0xEF])         # 15: jmp 0
sector = code.ljust(510, b'\0') + b'\x55\xaa'
open(sys.argv[1], 'wb').write(sector.ljust(1 << 20, b'\0'))
PY

"$bt86" -bios "$bios" -hda "$tmp/disk.img" -snapshot -display none -serial pty </dev/null \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 50); do grep -q "^char device redirected to" "$tmp/err" && break; sleep 0.1; done
pts=$(sed -n 's|^char device redirected to \(/dev/pts/[0-9]*\) (label serial0)$|\1|p' "$tmp/err")
if [ -z "$pts" ] || [ ! -c "$pts" ]; then
  echo "serial-pty: no 'char device redirected to /dev/pts/N (label serial0)' line:"; cat "$tmp/err"
  exit 1
fi
# Type "hello" every half second until the echo comes back (the first
# bytes may arrive while SeaBIOS still runs and be taken by it).
python3 - "$pts" <<'PY'
import os, sys, termios, time, tty
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
tty.setraw(fd)
seen = b''
deadline = time.time() + 120
while time.time() < deadline:
    os.write(fd, b'hello')
    time.sleep(0.5)
    try:
        seen += os.read(fd, 65536)
    except BlockingIOError:
        pass
    if b'HELLO' in seen:
        print('serial-pty: typed "hello" into %s, the guest answered "HELLO"' % sys.argv[1])
        sys.exit(0)
print('serial-pty: no echo from the guest; the pty carried: %r' % seen[-300:])
sys.exit(1)
PY
rc=$?
[ $rc = 0 ] && echo "serial-pty: ok"
exit $rc
