# nanobench.s - the nanobenchmark guest of the virtualization lab
# (docs/teaching/): Adams and Agesen's seven nanobenchmarks (ASPLOS 2006)
# as a 64 KiB -bios ROM that needs no firmware.
#
# Assembled once per benchmark and iteration count (CMake):
#   as --32 --defsym BENCH=n --defsym ITERS=k nanobench.s
#   ld -m elf_i386 -Ttext 0xFFFF0000 --oformat binary
# BENCH: 1 syscall, 2 in, 3 cr8wr, 4 call/ret, 5 pgfault, 6 divzero,
# 7 ptemod (and 8, the POPF probe below; 9, smc: self-modifying code for
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
.if BENCH == 9
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
