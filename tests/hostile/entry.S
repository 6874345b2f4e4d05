/*
 * entry.S - the reset vector and start-up of the hostile-guest ROM
 * (tests/hostile/README.md): a 64 KiB firmware image for bt86 -bios that
 * leaves real mode at once, copies the hammer (hostile.c, linked to run at
 * 0x10000: below 1 MiB, so A20 games cannot move it) into RAM and calls it
 * in flat 32-bit protected mode.
 *
 * Layout (the image is the last 64 KiB below 4 GiB):
 *   0xFFFF0000  the parameter block the test patches (see hostile.c)
 *   ...         the GDT, the 32-bit start-up, the payload (payload.bin)
 *   0xFFFFFFF0  the reset vector: a jump to the 16-bit start-up
 */
        .set PAYLOAD_ADDR, 0x10000
        .set STACK_TOP, 0x9F000

        .section .rom, "ax"
        .globl rom_start
rom_start:
/* The parameter block: magic, seed, iterations, flags (patched by the
 * test at this offset, 0 in the image). */
        .ascii "BT86HOSTILE-PARM"
        .long 1                 /* seed */
        .long 20000             /* iterations */
        .long 0                 /* flags */
        .long 0

        .balign 8
gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF        /* 0x08: flat 32-bit code */
        .quad 0x00CF92000000FFFF        /* 0x10: flat data */
gdt_end:
gdtr:
        .word gdt_end - gdt - 1
        .long gdt

        .code16
start16:
        cli
        cld
        lgdtl %cs:(gdtr - rom_start)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $start32

        .code32
start32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movl $STACK_TOP, %esp
        movl $payload, %esi
        movl $PAYLOAD_ADDR, %edi
        movl $(payload_end - payload), %ecx
        rep movsb
        movl $0x40000, %ecx     /* clear the payload's bss (up to 0x40000) */
        subl %edi, %ecx
        jbe 1f
        xorl %eax, %eax
        rep stosb
1:      pushl $rom_start        /* the parameter block */
        movl $PAYLOAD_ADDR, %eax
        call *%eax
2:      cli
        hlt
        jmp 2b

        .balign 16
payload:
        .incbin "payload.bin"
payload_end:

        .section .reset, "ax"
        .code16
reset_vector:
        jmp start16
        .balign 16, 0xF4
