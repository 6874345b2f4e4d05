# nanobench.s - the nanobenchmark guest of the virtualization lab
# (docs/teaching/): Adams and Agesen's seven nanobenchmarks (ASPLOS 2006)
# as a 64 KiB -bios ROM that needs no firmware.
#
# Assembled once per benchmark and iteration count (CMake):
#   as --32 --defsym BENCH=n --defsym ITERS=k nanobench.s
#   ld -m elf_i386 -Ttext 0xFFFF0000 --oformat binary
# BENCH: 1 syscall, 2 in, 3 cr8wr, 4 call/ret, 5 pgfault, 6 divzero,
# 7 ptemod (and 8, the POPF probe below), 9 vmcall (a KVM hypercall, for
# -vmm pv), 10 the ring-1 probe (below), 11 smc (self-modifying code for
# the bt model's translation-cache invalidations). The ROM switches to protected mode with paging (identity map
# of the first 4 MiB in 4 KiB pages, the ROM as one 4 MiB page), runs the
# benchmark ITERS times with interrupts off and stops with CLI; HLT (bt86
# exits: nothing can wake the CPU). A run with ITERS=1 and one with
# ITERS=1+K differ by exactly K iterations' events.
#
# cr8wr: 32-bit x86 has no CR8 (the task-priority register is CR8 only in
# 64-bit mode; in 32-bit mode it is the local APIC's TPR, MMIO, which
# bt86's PC does not have). The benchmark writes CR0 with its own value:
# the control-register write a 32-bit kernel makes most (CR0.TS, lazy FPU).

        .set IDT, 0x1000
        .set GDT, 0x2000
        .set TSS, 0x3000
        .set PD, 0x10000
        .set PT, 0x11000
        .set KSTACK, 0x80000
        .set USTACK, 0x70000
        .set ticks, 0x4000
        .set gpflag, 0x4004
        .set uresult, 0x4008
        .set SEL_KCODE, 0x08
        .set SEL_KDATA, 0x10
        .set SEL_UCODE, 0x1B
        .set SEL_UDATA, 0x23
        .set SEL_TSS, 0x28

        .text
        .globl _start
_start:
        .code16
entry16:
        cli
        lgdtl %cs:(rom_gdt_ptr - _start)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $SEL_KCODE, $pm32

        .code32
pm32:
        movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movl $KSTACK, %esp

        # GDT in RAM: null, kernel code/data, user code/data, TSS.
        movl $GDT, %edi
        movl $0, 0(%edi)
        movl $0, 4(%edi)
        movl $0x0000FFFF, 8(%edi)
        movl $0x00CF9A00, 12(%edi)
        movl $0x0000FFFF, 16(%edi)
        movl $0x00CF9200, 20(%edi)
        movl $0x0000FFFF, 24(%edi)
        movl $0x00CFFA00, 28(%edi)
        movl $0x0000FFFF, 32(%edi)
        movl $0x00CFF200, 36(%edi)
        movl $((TSS << 16) | 0x67), 40(%edi)
        movl $0x00008900, 44(%edi)
        movl $KSTACK, TSS + 4
        movl $SEL_KDATA, TSS + 8
        lgdt gdt_ptr
        ljmp $SEL_KCODE, $1f
1:      movw $SEL_TSS, %ax
        ltr %ax

        # IDT: every vector to `unexpected`, then the ones the benchmarks use.
        movl $IDT, %edi
        movl $256, %ecx
2:      movl $unexpected, %eax
        call set_gate
        addl $8, %edi
        loop 2b
        movl $IDT + 0 * 8, %edi
        movl $de_handler, %eax
        call set_gate
        movl $IDT + 14 * 8, %edi
        movl $pf_handler, %eax
        call set_gate
        movl $IDT + 0x80 * 8, %edi
        movl $syscall_handler, %eax
        call set_gate
        orl $0x6000, 4(%edi)           # DPL 3
        movl $IDT + 0x81 * 8, %edi
        movl $exit_handler, %eax
        call set_gate
        orl $0x6000, 4(%edi)
.if BENCH == 10
        movl $IDT + 6 * 8, %edi
        movl $ud_handler, %eax
        call set_gate
        movl $IDT + 13 * 8, %edi
        movl $gp_handler, %eax
        call set_gate
        movl $IDT + 0x82 * 8, %edi
        movl $int82_handler, %eax
        call set_gate
        movl $IDT + 0x83 * 8, %edi
        movl $user_back, %eax
        call set_gate
        orl $0x6000, 4(%edi)           # DPL 3
.endif
        lidt idt_ptr

        # Paging: 0-4 MiB identity in 4 KiB pages (user, writable), the
        # top 4 MiB (this ROM) as one large page.
        movl $PT, %edi
        xorl %ecx, %ecx
3:      movl %ecx, %eax
        shll $12, %eax
        orl $7, %eax
        movl %eax, (%edi, %ecx, 4)
        incl %ecx
        cmpl $1024, %ecx
        jne 3b
        movl $PD, %edi
        xorl %eax, %eax
        movl $1024, %ecx
        rep stosl
        movl $(PT | 7), PD
        movl $0xFFC00087, PD + 1023 * 4
        movl %cr4, %eax
        orl $0x10, %eax                # PSE
        movl %eax, %cr4
        movl $PD, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80010000, %eax          # PG, WP
        movl %eax, %cr0
        jmp bench

# EDI: gate address, EAX: handler. A 32-bit interrupt gate, DPL 0.
set_gate:
        movw %ax, 0(%edi)
        movw $SEL_KCODE, 2(%edi)
        movw $0x8E00, 4(%edi)
        shrl $16, %eax
        movw %ax, 6(%edi)
        ret

bench:
        movl $ITERS, %ecx
.if BENCH == 1
        # syscall: INT 0x80 from user mode to an IRET.
        pushl $SEL_UDATA
        pushl $USTACK
        pushl $0x2
        pushl $SEL_UCODE
        pushl $user_loop
        iret
user_loop:
        int $0x80
        loop user_loop
        int $0x81
.endif
.if BENCH == 2
        # in: a port read.
4:      inb $0xE9, %al
        loop 4b
.endif
.if BENCH == 3
        # cr8wr: a control-register write (CR0, unchanged value).
        movl %cr0, %ebx
4:      movl %ebx, %cr0
        loop 4b
.endif
.if BENCH == 4
        # call/ret.
4:      call leaf
        loop 4b
.endif
.if BENCH == 5
        # pgfault: a read of a page that is not present (above 4 MiB);
        # the handler skips the 5-byte MOV.
4:      movl 0x400000, %eax
        loop 4b
.endif
.if BENCH == 6
        # divzero: DIV by zero; the handler skips the 2-byte DIV.
        xorl %ebx, %ebx
4:      xorl %edx, %edx
        movl $1, %eax
        divl %ebx
        loop 4b
.endif
.if BENCH == 7
        # ptemod: rewrite a page-table entry (of the last 4 KiB page below
        # 4 MiB) with its own value.
        movl PT + 1023 * 4, %eax
4:      movl %eax, PT + 1023 * 4
        loop 4b
.endif
.if BENCH == 11
        # smc: a routine in RAM (movb $imm, %al; ret) whose immediate is
        # rewritten before each call: each write invalidates its block.
        # The MOV to SS before the CALL puts the CALL under an interrupt
        # shadow: bt86 runs it alone, outside a block.
        .set SMC, 0x5000
        movl $0x90C300B0, SMC
4:      movb %cl, SMC + 1
        movw %ss, %ax
        movw %ax, %ss
        call SMC
        loop 4b
.endif
.if BENCH == 8
        # Not a nanobenchmark: the POPF probe. A kernel's usual critical
        # section (PUSHF; CLI; ...; POPF) must give interrupts back; the
        # HLT then waits for the timer. Under a trap-and-emulate VMM the
        # POPF runs in ring 1 and keeps IF = 0: the HLT never wakes.
        movb $0x11, %al                # PIC: ICW1..ICW4, vectors 0x20-0x27
        outb %al, $0x20
        movb $0x20, %al
        outb %al, $0x21
        movb $0x04, %al
        outb %al, $0x21
        movb $0x01, %al
        outb %al, $0x21
        movb $0xFE, %al                # only IRQ 0
        outb %al, $0x21
        movb $0x34, %al                # PIT channel 0, rate generator
        outb %al, $0x43
        movb $0x00, %al
        outb %al, $0x40
        movb $0x10, %al
        outb %al, $0x40
        movl $IDT + 0x20 * 8, %edi
        movl $timer_handler, %eax
        call set_gate
        movl $0, ticks
        sti
        pushfl
        cli
        .globl popf_insn
        .type popf_insn, @function
popf_insn:
        popfl
        hlt
        cmpl $0, ticks
        je finish
        movl $probe_ok, %esi
5:      movb (%esi), %al
        testb %al, %al
        jz finish
        outb %al, $0xE9
        incl %esi
        jmp 5b
.endif
.if BENCH == 9
        # vmcall: KVM_HC_VAPIC_POLL_IRQ (1), which answers 0 (-vmm pv
        # only: elsewhere VMCALL is #UD and the guest stops).
4:      movl $1, %eax
        vmcall
        testl %eax, %eax
        jnz unexpected
        loop 4b
.endif
.if BENCH == 10
        # Not a nanobenchmark: the ring-1 probe. Sensitive instructions
        # at CPL 0 whose results differ in ring 1 (docs/teaching/
        # lab-trap.md), and KVM hypercalls; one line each on port 0xE9.
        movw $SEL_TSS, %ax             # LSL of the TSS (a DPL-0 system descriptor)
        xorl %ebx, %ebx
        lsl %ax, %ebx
        setz %dl
        movl $s_lsl, %esi
        call line_zf_ebx
        movw $(SEL_KDATA | 1), %ax     # VERR with RPL 1 of a DPL-0 data segment
        verr %ax
        setz %dl
        movl $s_verr, %esi
        call line_zf
        movw $SEL_KDATA, %ax           # LAR: the DPL
        xorl %ebx, %ebx
        lar %ax, %ebx
        setz %dl
        movl $s_lar, %esi
        call line_zf_ebx
        movw $SEL_KDATA, %ax           # VERW: the same in both
        verw %ax
        setz %dl
        movl $s_verw, %esi
        call line_zf
        # A data segment load with RPL 1 of a DPL-0 segment: #GP at CPL 0
        # (the handler skips the 2-byte MOV), loaded in ring 1.
        movl $0, gpflag
        movw $(SEL_KDATA | 1), %ax
        .globl fs_load_insn
        .type fs_load_insn, @function
fs_load_insn:
        .byte 0x8e, 0xe0               # mov %eax, %fs
        movl $s_fs, %esi
        call puts
        movl gpflag, %eax
        movl $1, %ecx
        call puthex
        movl $s_fs2, %esi
        call puts
        movw %fs, %ax
        movl $4, %ecx
        call puthex
        call newline
        # SS reloaded from SS (RPL 1 in ring 1), then shown.
        movw %ss, %ax
        movw %ax, %ss
        movw $SEL_KDATA, %ax           # SS with RPL 0: #GP in ring 1 (emulated)
        movw %ax, %ss
        movw %ss, %bx
        movl $s_ss, %esi
        call puts
        movzwl %bx, %eax
        movl $4, %ecx
        call puthex
        call newline
        # Far CALL: the CS it pushes; the far RET returns to it.
        .globl lcall_insn
        .type lcall_insn, @function
lcall_insn:
        lcall $SEL_KCODE, $far_fn
        movl $s_lcall, %esi
        call puts
        movl %ebx, %eax
        movl $4, %ecx
        call puthex
        call newline
        # PUSH CS; far RET to it (RPL 1 in ring 1: a same-level return).
        pushl %cs
        pushl $6f
        lret
6:      movl $s_lret, %esi
        call puts
        call newline
        # INT n through a DPL-0 gate.
        movl $0, gpflag
        int $0x82
        movl $s_int, %esi
        call puts
        movl gpflag, %eax
        movl $1, %ecx
        call puthex
        call newline
        # Hypercalls: VAPIC_POLL_IRQ, an unknown number, KICK_CPU by
        # VMMCALL, then VAPIC_POLL_IRQ from user mode.
        movl $1, %eax
        vmcall
        movl $s_hc1, %esi
        call line_eax
        movl $999, %eax
        vmcall
        movl $s_hc999, %esi
        call line_eax
        movl $5, %eax
        vmmcall
        movl $s_hc5, %esi
        call line_eax
        pushl $SEL_UDATA
        pushl $USTACK
        pushl $0x2
        pushl $SEL_UCODE
        pushl $user_hc
        iret
user_hc:
        movw $SEL_UDATA, %ax           # DS was nulled on the way to ring 3
        movw %ax, %ds
        movl $1, %eax
        vmcall
        movl %eax, uresult
        int $0x83
user_back:
        movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movl $KSTACK, %esp
        movl uresult, %eax
        movl $s_hcu, %esi
        call line_eax
        movl $s_done, %esi
        call puts
        jmp finish

far_fn:
        movl 4(%esp), %ebx
        lret

ud_handler:
        movl $0x0BAD0BAD, %eax
        addl $3, (%esp)
        iret

gp_handler:
        addl $4, %esp
        addl $2, (%esp)
        movl $1, gpflag
        iret

int82_handler:
        movl $1, gpflag
        iret

# ESI: a string to port 0xE9.
puts:
        movb (%esi), %al
        testb %al, %al
        jz 1f
        outb %al, $0xE9
        incl %esi
        jmp puts
1:      ret

newline:
        movb $10, %al
        outb %al, $0xE9
        ret

# EAX in hex, ECX digits.
puthex:
        pushl %eax
        pushl %ebx
        movl %eax, %ebx
        movl %ecx, %eax
        shll $2, %eax
        movb %al, %cl
        rorl %cl, %ebx
1:      roll $4, %ebx
        movl %ebx, %eax
        andl $15, %eax
        movb hexdigits(%eax), %al
        outb %al, $0xE9
        subb $4, %cl
        jnz 1b
        popl %ebx
        popl %eax
        ret

# ESI: name; DL: ZF.
line_zf:
        call puts
        movl $s_zf, %esi
        call puts
        movzbl %dl, %eax
        movl $1, %ecx
        call puthex
        jmp newline

# The same, then EBX.
line_zf_ebx:
        call puts
        movl $s_zf, %esi
        call puts
        movzbl %dl, %eax
        movl $1, %ecx
        call puthex
        movl $s_ebx, %esi
        call puts
        movl %ebx, %eax
        movl $8, %ecx
        call puthex
        jmp newline

# ESI: name; EAX.
line_eax:
        pushl %eax
        call puts
        movl $s_eax, %esi
        call puts
        popl %eax
        movl $8, %ecx
        call puthex
        jmp newline

hexdigits: .ascii "0123456789abcdef"
s_lsl:  .asciz "lsl-tss"
s_verr: .asciz "verr-kdata-rpl1"
s_lar:  .asciz "lar-kdata"
s_verw: .asciz "verw-kdata"
s_fs:   .asciz "fs-load-rpl1 gp="
s_fs2:  .asciz " fs="
s_ss:   .asciz "ss="
s_lcall: .asciz "lcall pushed cs="
s_lret: .asciz "lret to pushed cs: ok"
s_int:  .asciz "int82 handler ran="
s_hc1:  .asciz "vmcall nr=1"
s_hc999: .asciz "vmcall nr=999"
s_hc5:  .asciz "vmmcall nr=5"
s_hcu:  .asciz "vmcall nr=1 user"
s_zf:   .asciz " zf="
s_ebx:  .asciz " ebx="
s_eax:  .asciz " eax="
s_done: .asciz "ring1-probe: done\n"
.endif
finish:
        cli
        hlt
        jmp finish

leaf:
        ret

de_handler:
        addl $2, (%esp)
        iret

pf_handler:
        addl $5, 4(%esp)
        addl $4, %esp
        iret

syscall_handler:
        iret

exit_handler:
        movw $SEL_KDATA, %ax
        movw %ax, %ds
        movw %ax, %es
        jmp finish

timer_handler:
        pushl %eax
        incl ticks
        movb $0x20, %al
        outb %al, $0x20
        popl %eax
        iret

probe_ok:
        .asciz "popf-probe: the timer woke the CPU\n"

unexpected:
        cli
        hlt
        jmp unexpected

        .balign 8
rom_gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF
        .quad 0x00CF92000000FFFF
rom_gdt_ptr:
        .word rom_gdt_ptr - rom_gdt - 1
        .long rom_gdt
gdt_ptr:
        .word 6 * 8 - 1
        .long GDT
idt_ptr:
        .word 256 * 8 - 1
        .long IDT

        .org 0xFFF0
        .code16
reset:
        jmp entry16
        .org 0x10000
