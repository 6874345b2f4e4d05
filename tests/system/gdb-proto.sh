#!/usr/bin/env bash
# System test: bt86's GDB stub at the packet level, with a client of our
# own (no gdb needed), on SeaBIOS and small boot sectors:
#  - hostile and malformed input: bad checksums ('-'), an over-long
#    packet, bad run-length encoding, bad numbers, odd hex, unknown
#    register numbers, bad watchpoint lengths, a truncated binary escape:
#    each gets an error reply and the stub goes on answering;
#  - qSupported, the target description (qXfer, in pieces), E14 for
#    memory that is not there, the VGA text buffer read as the CPU sees it, QEMU's physical-memory mode, thread packets;
#  - Ctrl-C while the guest runs stops it (T02); vCont;s steps, holding
#    interrupts back unless `monitor gdb-step-irqs on`; a breakpoint stops
#    with swbreak; monitor commands answer in O packets;
#  - with the debugger attached, a CPU halted for good, an ACPI power-off
#    and a triple fault stop in the debugger instead of ending or
#    resetting the machine (continuing then lets it happen); k ends bt86;
#  - 3000 random packets (fixed seed) each get a reply, and bt86 lives.
#   gdb-proto.sh BT86
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "gdb-proto: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# Boot sectors: "cli; hlt" and a triple fault (lidt with limit 0; int3).
python3 - "$tmp" <<'PY'
import sys
def disk(name, code):
    sector = bytearray(512)
    sector[:len(code)] = code
    sector[0x1F0:0x1F6] = bytes(6)          # the IDT pseudo-descriptor: limit 0
    sector[510:512] = b'\x55\xaa'
    open(f"{sys.argv[1]}/{name}", "wb").write(bytes(sector) + bytes(512 * 63))
disk("halt.img", bytes([0xFA, 0xF4]))
# "A" in white on blue at the top left of the text screen, then cli; hlt.
disk("text.img", bytes([0xB8, 0x00, 0xB8, 0x8E, 0xC0,            # mov ax, 0B800h; mov es, ax
                        0x26, 0xC7, 0x06, 0x00, 0x00, 0x41, 0x1F, # mov word [es:0], 1F41h
                        0xFA, 0xF4]))
disk("triple.img", bytes([0x0F, 0x01, 0x1E, 0xF0, 0x7D, 0xCC]))
# ACPI power-off: the PM base from PCI 00:01.3 register 0x40, then SLP_EN
# with SLP_TYP 0 (S5) in PM1_CNT (base + 4).
disk("poweroff.img", bytes([
    0x66, 0xB8, 0x40, 0x0B, 0x00, 0x80,   # mov eax, 80000B40h
    0xBA, 0xF8, 0x0C, 0x66, 0xEF,         # mov dx, 0CF8h; out dx, eax
    0xBA, 0xFC, 0x0C, 0x66, 0xED,         # mov dx, 0CFCh; in eax, dx
    0x24, 0xFE, 0x89, 0xC2,               # and al, 0FEh; mov dx, ax
    0x83, 0xC2, 0x04,                     # add dx, 4
    0xB8, 0x00, 0x20, 0xEF,               # mov ax, 2000h; out dx, ax
    0xFA, 0xF4]))                         # cli; hlt (not reached)
PY

python3 - "$bt86" "$tmp" <<'PY'
import os, socket, subprocess, sys, time
bt86, tmp = sys.argv[1], sys.argv[2]
failed = False

def fail(msg):
    global failed
    print("gdb-proto:", msg)
    failed = True

def checksum(b): return b'%02x' % (sum(b) & 0xFF)

class Client:
    def __init__(self, disk, name):
        self.sock_path = f"{tmp}/{name}.sock"
        args = ["-hda", disk, "-snapshot"] if disk else []
        self.proc = subprocess.Popen([bt86, "-m", "32", *args, "-display", "none", "-serial",
                                      "none", "-S", "-gdb", "unix:" + self.sock_path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if os.path.exists(self.sock_path): break
            time.sleep(0.05)
        # The socket file appears at bind(), before listen(): retry a refusal.
        for _ in range(100):
            self.s = socket.socket(socket.AF_UNIX)
            try:
                self.s.connect(self.sock_path)
                break
            except ConnectionRefusedError:
                self.s.close()
                time.sleep(0.05)
        self.s.settimeout(30)
        self.buf = b''
        self.console = b''

    def raw(self, b): self.s.sendall(b)

    def byte(self):
        while not self.buf:
            d = self.s.recv(65536)
            if not d: raise EOFError
            self.buf += d
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def packet(self):
        """The next packet's payload (O packets are collected in self.console)."""
        while True:
            while self.byte() != b'$': pass
            data = b''
            while (c := self.byte()) != b'#': data += c
            cs = self.byte() + self.byte()
            if cs != checksum(data): fail(f"bad checksum from the stub: {data!r}")
            self.raw(b'+')
            if data.startswith(b'O') and data != b'OK':
                self.console += bytes.fromhex(data[1:].decode())
                continue
            return data

    def send(self, payload, frame=None):
        self.raw(frame if frame is not None else b'$' + payload + b'#' + checksum(payload))
        ack = self.byte()
        return ack

    def ask(self, payload, frame=None):
        ack = self.send(payload, frame)
        if ack != b'+': fail(f"{payload[:40]!r}: ack {ack!r}")
        return self.packet()

    def expect(self, payload, want, frame=None):
        got = self.ask(payload, frame)
        if not (got.startswith(want) if isinstance(want, bytes) else want(got)):
            fail(f"{payload[:40]!r}: got {got[:80]!r}")
        return got

    def done(self):
        self.raw(b'$k#6b')
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            fail("k did not end bt86")
            self.proc.kill()
        err = self.proc.stderr.read()
        if b'Sanitizer' in err or b'runtime error' in err:  # the ASan/UBSan build
            fail("bt86 reported:\n" + err.decode(errors="replace"))

# ---- SeaBIOS and the default boot: the protocol ----
c = Client(None, "bios")
c.expect(b'qSupported:multiprocess+;swbreak+;hwbreak+', lambda r: all(
    x in r for x in [b'PacketSize=4000', b'qXfer:features:read+', b'vContSupported+',
                     b'swbreak+', b'hwbreak+']) and b'Reverse' not in r)
# Reverse execution is only for a replay (tests/system/gdb-replay.sh).
c.expect(b'bs', lambda r: r == b'')
c.expect(b'bc', lambda r: r == b'')
xml, off = b'', 0
while True:
    r = c.ask(b'qXfer:features:read:target.xml:%x,100' % off)
    if r[:1] not in (b'm', b'l'): fail(f"qXfer: {r[:40]!r}"); break
    xml += r[1:]
    off += len(r) - 1
    if r[:1] == b'l': break
for want in [b'<architecture>i8086</architecture>', b'org.gnu.gdb.i386.core', b'name="fop"',
             b'org.bt86.i386.sys', b'name="cr3"', b'name="gdtr_base"', b'name="st7"']:
    if want not in xml: fail(f"target description lacks {want!r}")
c.expect(b'qXfer:features:read:other.xml:0,100', b'E')
c.expect(b'?', b'T05')
c.expect(b'qAttached', b'1')
c.expect(b'qC', b'QC')
c.expect(b'qfThreadInfo', b'm')
c.expect(b'qsThreadInfo', b'l')
c.expect(b'Hg0', b'OK')
c.expect(b'vCont?', lambda r: all(x in r for x in [b'c', b'C', b's', b'S']))
c.expect(b'p8', b'f0ff0000')                      # EIP at reset
c.expect(b'p20', b'0000ffff')                     # cs_base (register 32)
c.expect(b'g', lambda r: len(r) == 2 * (16 * 4 + 8 * 10 + 8 * 4 + 26 * 4))
c.expect(b'me0000000,4', b'E14')                  # not memory
c.expect(b'mffff0,1', b'ea')                      # the BIOS's far jump
c.expect(b'Qqemu.PhyMemMode:1', b'OK')
c.expect(b'qqemu.PhyMemMode', b'1')
c.expect(b'mffff0,1', b'ea')
c.expect(b'Qqemu.PhyMemMode:0', b'OK')
c.expect(b'M70000,2:1234', b'OK')
c.expect(b'm70000,2', b'1234')
c.expect(b'X70000,2:}]\x01', b'OK')              # '}' escaped, then 0x01
c.expect(b'm70000,2', b'7d01')
c.expect(b'P0=78563412', b'OK')
c.expect(b'p0', b'78563412')
# Hostile and malformed packets: an error, and the stub keeps answering.
if c.send(b'', b'$g#00') != b'-': fail("a bad checksum was not refused")
c.expect(b'a' * 20000, b'E')                      # longer than PacketSize
c.expect(b'*!', b'E', b'$*!#' + checksum(b'*!'))  # a run with nothing to repeat
c.expect(b'm12345', b'E01')
c.expect(b'm123456789,4', b'E01')                 # more than 32 bits
c.expect(b'mffff0,', b'E01')
c.expect(b'pfff', b'E00')
c.expect(b'p', b'E01')
c.expect(b'P0=12', b'E01')
c.expect(b'G12', b'E01')
c.expect(b'M70000,4:12', b'E01')
c.expect(b'X70000,1:}', b'E01')
c.expect(b'Z2,70000,3', b'E22')
c.expect(b'Z0,zz,1', b'E01')
c.expect(b'qRcmd,123', b'E01')
c.expect(b'vCont;x', b'E01')
c.expect(b'unknown-packet', lambda r: r == b'')
c.expect(b'?', b'T05')
# Monitor commands through qRcmd: output in O packets.
c.console = b''
c.expect(b'qRcmd,' + b'info registers'.hex().encode(), b'OK')
if b'EAX=' not in c.console: fail(f"monitor info registers: {c.console[:80]!r}")
c.console = b''
c.expect(b'qRcmd,' + b'gdb-step-irqs on'.hex().encode(), b'OK')
if b'enters' not in c.console: fail(f"gdb-step-irqs: {c.console!r}")
c.expect(b'qRcmd,' + b'gdb-step-irqs off'.hex().encode(), b'OK')
# A step, then Ctrl-C while running (no disk: SeaBIOS ends up waiting).
c.expect(b'vCont;s:1', b'T05')
c.expect(b'p8', lambda r: r != b'f0ff0000')
c.send(b'vCont;c')
time.sleep(1)
c.raw(b'\x03')
c.expect_stop = c.packet()
if not c.expect_stop.startswith(b'T02'): fail(f"Ctrl-C: {c.expect_stop!r}")
c.expect(b'?', b'T02')
# Stepping a CPU that waits in HLT (SeaBIOS idles with interrupts on):
# by default interrupts are held back and nothing runs; with
# gdb-step-irqs on a step enters the timer's handler (real mode: IF off).
def halted():
    c.console = b''
    c.ask(b'qRcmd,' + b'info registers'.hex().encode())
    return b'HLT=1' in c.console
for _ in range(10):
    if halted(): break
    c.send(b'vCont;c')
    time.sleep(0.2)
    c.raw(b'\x03')
    c.packet()
if not halted(): fail("Ctrl-C never found SeaBIOS waiting in HLT")
def eflags(): return int.from_bytes(bytes.fromhex(c.ask(b'p9').decode()), 'little')
eip = c.ask(b'p8')
for _ in range(5):
    c.expect(b'vCont;s:1', b'T05')
    time.sleep(0.05)
if c.ask(b'p8') != eip or not eflags() & 0x200: fail("a step with interrupts held back ran")
c.expect(b'qRcmd,' + b'gdb-step-irqs on'.hex().encode(), b'OK')
for _ in range(100):
    c.expect(b'vCont;s:1', b'T05')
    if not eflags() & 0x200: break
    time.sleep(0.02)
if eflags() & 0x200: fail("gdb-step-irqs on: no step entered an interrupt handler")
c.expect(b'qRcmd,' + b'gdb-step-irqs off'.hex().encode(), b'OK')
# A breakpoint (never written into memory).
c.expect(b'Z0,7c00,1', b'OK')
c.expect(b'm7c00,1', lambda r: r != b'cc')
c.expect(b'z0,7c00,1', b'OK')
c.done()

# ---- a CPU halted for good stops in the debugger ----
c = Client(f"{tmp}/halt.img", "halt")
c.send(b'vCont;c')
stop = c.packet()
if not stop.startswith(b'T05') or b'halted' not in c.console:
    fail(f"halt: {stop!r}, console {c.console!r}")
c.expect(b'p8', b'027c0000')                      # after the hlt
c.done()

# ---- the VGA window reads as the CPU sees it (text mode: odd/even), with
# no side effect; writes there stay refused ----
c = Client(f"{tmp}/text.img", "text")
c.send(b'vCont;c')
stop = c.packet()
if not stop.startswith(b'T05'): fail(f"text: {stop!r}")
c.expect(b'mb8000,2', b'411f')
c.expect(b'Mb8000,1:42', b'E14')
c.expect(b'mb8000,2', b'411f')
c.done()

# ---- a power-off stops in the debugger; continuing ends bt86 (status 0) ----
c = Client(f"{tmp}/poweroff.img", "poweroff")
c.send(b'vCont;c')
stop = c.packet()
if not stop.startswith(b'T05') or b'switched the machine off' not in c.console:
    fail(f"power-off: {stop!r}, console {c.console!r}")
if c.proc.poll() is not None: fail("bt86 ended at the power-off")
c.send(b'vCont;c')
try:
    if c.proc.wait(10) != 0: fail(f"after the power-off bt86 exited with {c.proc.returncode}")
except subprocess.TimeoutExpired:
    fail("continuing after the power-off did not end bt86")
    c.proc.kill()

# ---- a triple fault stops in the debugger; continuing resets ----
c = Client(f"{tmp}/triple.img", "triple")
c.expect(b'Z1,7c00,1', b'OK')                     # a hardware breakpoint this time
c.send(b'vCont;c')
if not c.packet().startswith(b'T05hwbreak'): fail("triple: no stop at the boot sector")
c.expect(b'z1,7c00,1', b'OK')
c.send(b'vCont;c')
stop = c.packet()
if not stop.startswith(b'T05') or b'reset' not in c.console:
    fail(f"triple fault: {stop!r}, console {c.console!r}")
if c.proc.poll() is not None: fail("bt86 ended at the triple fault")
c.expect(b'p8', b'057c0000')                      # at the int3 that started it
c.expect(b'Z0,fff0,1', b'OK')                     # the reset vector: CS base + fff0 after reset
c.expect(b'Z0,fffffff0,1', b'OK')
c.send(b'vCont;c')
stop = c.packet()
if not stop.startswith(b'T05swbreak'): fail(f"after the reset: {stop!r}")
c.expect(b'p8', b'f0ff0000')
c.done()
# ---- random packets (fixed seed): every one gets a reply, none a crash ----
import random
rng = random.Random(13)
c = Client(None, "fuzz")
tail_bytes = b'0123456789abcdefABCDEF,:;=-.xyz'
def escape(b):
    out = b''
    for x in b:
        out += bytes([0x7D, x ^ 0x20]) if x in b'$#}*' else bytes([x])
    return out
for n in range(3000):
    head = rng.choice([b'm', b'M', b'X', b'p', b'P', b'g', b'G', b'Z', b'z', b'H', b'T', b'?',
                       b'qXfer:features:read:target.xml:', b'qSupported', b'Qqemu.PhyMemMode:',
                       b'qAttached', b'vCont?', b'q', b'Q'])
    tail = bytes(rng.choice(tail_bytes) if rng.random() < 0.9 else rng.randrange(256)
                 for _ in range(rng.randrange(0, 40)))
    payload = escape(head + tail)
    try:
        c.ask(payload, b'$' + payload + b'#' + checksum(payload))
    except (EOFError, socket.timeout, ConnectionError) as e:
        fail(f"random packet {n} {payload[:60]!r}: {e!r}")
        break
else:
    c.expect(b'?', b'T05')
    c.done()
if c.proc.poll() is None: c.proc.kill()
sys.exit(1 if failed else 0)
PY
