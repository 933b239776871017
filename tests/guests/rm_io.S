/* rm_io.S — a tiny real-mode guest run by guest_runner: it proves memory
 * set-up (a pattern across 64 KiB segments below 640 KiB reads back),
 * the register state the runner set (%ebx is printed in hex), port-I/O
 * dispatch (UART LSR/THR, port 0x80 marker, an unclaimed port reads as
 * 0xff) and UART output, then resets through the i8042. */
	.code16
	.section .text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x8000, %sp
	mov	%ebx, %ebp		/* keep the runner's value */

	mov	$msg_hello, %si
	call	puts

	/* registers: print %ebx as the runner set it */
	mov	$msg_ebx, %si
	call	puts
	mov	%ebp, %eax
	call	puthex32
	mov	$msg_nl, %si
	call	puts

	/* memory: segments 0x1000..0x9000 (64 KiB .. 640 KiB), one word
	 * every 256 bytes, value = segment ^ offset */
	mov	$0x1000, %bx
1:	mov	%bx, %es
	xor	%di, %di
2:	mov	%bx, %ax
	xor	%di, %ax
	mov	%ax, %es:(%di)
	add	$256, %di
	jnz	2b
	add	$0x1000, %bx
	cmp	$0xa000, %bx
	jne	1b
	mov	$0x1000, %bx
3:	mov	%bx, %es
	xor	%di, %di
4:	mov	%bx, %ax
	xor	%di, %ax
	cmp	%ax, %es:(%di)
	jne	fail
	add	$256, %di
	jnz	4b
	add	$0x1000, %bx
	cmp	$0xa000, %bx
	jne	3b
	mov	$msg_mem, %si
	call	puts

	/* unclaimed port reads as all ones */
	mov	$0x0510, %dx
	in	%dx, %al
	cmp	$0xff, %al
	jne	fail
	mov	$msg_bus, %si
	call	puts

	mov	$0x42, %al
	out	%al, $0x80
	in	$0x80, %al
	mov	$msg_done, %si
	call	puts
reset:
	mov	$0xfe, %al
	out	%al, $0x64
	jmp	reset
fail:
	mov	$msg_fail, %si
	call	puts
	jmp	reset

puts:	lodsb
	test	%al, %al
	jz	5f
	call	putc
	jmp	puts
5:	ret

putc:	push	%dx
	mov	%al, %ah
	mov	$0x3fd, %dx
6:	in	%dx, %al
	test	$0x20, %al
	jz	6b
	mov	$0x3f8, %dx
	mov	%ah, %al
	out	%al, %dx
	pop	%dx
	ret

puthex32:
	mov	$8, %cx
7:	rol	$4, %eax
	push	%eax
	and	$0xf, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	8f
	add	$('A' - '9' - 1), %al
8:	call	putc
	pop	%eax
	loop	7b
	ret

msg_hello:	.asciz "rm_io: hello from real mode\r\n"
msg_ebx:	.asciz "rm_io: ebx="
msg_nl:		.asciz "\r\n"
msg_mem:	.asciz "rm_io: memory pattern ok\r\n"
msg_bus:	.asciz "rm_io: unclaimed port reads 0xff\r\n"
msg_done:	.asciz "rm_io: done\r\n"
msg_fail:	.asciz "rm_io: FAIL\r\n"
