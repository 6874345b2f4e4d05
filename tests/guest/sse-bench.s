# sse-bench.s - a small SSE2 loop as a 64 KiB -bios ROM that needs no
# firmware, to time the jit's inline SSE code (docs/STATUS.md, "Speed"):
#   as --32 --defsym ITERS=n sse-bench.s -o sse-bench.o
#   ld -m elf_i386 -Ttext 0xFFFF0000 sse-bench.o -o sse-bench.elf
#   objcopy -O binary sse-bench.elf sse-bench.rom
#   bt86 -bios sse-bench.rom -nographic
# Flat protected mode without paging, SSE enabled (CR4.OSFXSR), then
# ITERS passes over two 4 KiB arrays of floats: y = a * x + y (packed
# single, aligned loads and stores), the sum of y in double (CVTPS2PD,
# ADDPD), integer SIMD on the same bits (PADDD, PXOR, PCMPGTD, PAND),
# scalar SQRTSS/MAXSS/MINSS, UNPCKLPS and a shuffle: the block is one run
# of inline SSE code between two integer instructions. It prints the low
# 64 bits of the double sum and of the integer accumulator in hex on COM1
# (the same on every engine and build) and stops with CLI; HLT (bt86
# exits: nothing can wake the CPU).

        .set X, 0x100000
        .set Y, 0x102000
        .set COM1, 0x3F8

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
        ljmpl $0x08, $pm32

        .code32
pm32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movl $0x80000, %esp
        movl %cr0, %eax                # SSE: EM clear, MP set
        andl $~4, %eax
        orl $2, %eax
        movl %eax, %cr0
        movl %cr4, %eax                # OSFXSR, OSXMMEXCPT
        orl $0x600, %eax
        movl %eax, %cr4

        # x[i] = i / 1024, y[i] = 1 (as floats)
        xorl %ecx, %ecx
1:      cvtsi2ss %ecx, %xmm0
        mulss scale, %xmm0
        movss %xmm0, X(, %ecx, 4)
        movl $0x3F800000, Y(, %ecx, 4)
        incl %ecx
        cmpl $1024, %ecx
        jne 1b

        movaps a4, %xmm0               # a in every lane
        xorps %xmm3, %xmm3             # double sum
        pxor %xmm4, %xmm4              # integer accumulators
        pxor %xmm5, %xmm5
        movl $ITERS, %ebp
outer:
        movl $X, %esi
        movl $Y, %edi
        movl $256, %ecx
inner:
        movaps (%esi), %xmm1
        mulps %xmm0, %xmm1
        addps (%edi), %xmm1
        movaps %xmm1, (%edi)
        cvtps2pd %xmm1, %xmm2
        addpd %xmm2, %xmm3
        movhlps %xmm1, %xmm6
        cvtps2pd %xmm6, %xmm6
        addpd %xmm6, %xmm3
        paddd %xmm1, %xmm4
        pxor %xmm1, %xmm5
        movdqa %xmm4, %xmm7
        pcmpgtd %xmm5, %xmm7
        pand %xmm7, %xmm5
        sqrtss %xmm1, %xmm6
        maxss %xmm6, %xmm7
        minss %xmm7, %xmm6
        unpcklps %xmm6, %xmm7
        shufps $0x1B, %xmm7, %xmm7
        addl $16, %esi
        addl $16, %edi
        decl %ecx
        jnz inner
        decl %ebp
        jnz outer

        # The results: the double sum's low lane, the integer lanes' sum.
        movq %xmm3, %xmm1
        movd %xmm1, %ebx
        psrlq $32, %xmm1
        movd %xmm1, %eax
        call hex32
        movl %ebx, %eax
        call hex32
        movb $' ', %al
        call putc
        paddd %xmm5, %xmm4
        movd %xmm4, %eax
        call hex32
        movb $'\n', %al
        call putc
        cli
        hlt

# EAX in hex on COM1.
hex32:
        movl %eax, %edx
        movl $8, %ecx
2:      roll $4, %edx
        movl %edx, %eax
        andl $15, %eax
        movb hexdigits(%eax), %al
        call putc
        loop 2b
        ret
putc:
        pushl %edx
        movw $COM1, %dx
        outb %al, %dx
        popl %edx
        ret

hexdigits:
        .ascii "0123456789abcdef"
        .balign 16
a4:
        .float 0.5, 0.5, 0.5, 0.5
scale:
        .float 0.0009765625
        .balign 8
rom_gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF
        .quad 0x00CF92000000FFFF
rom_gdt_ptr:
        .word rom_gdt_ptr - rom_gdt - 1
        .long rom_gdt

        .org 0xFFF0
        .code16
reset:
        jmp entry16
        .org 0x10000
