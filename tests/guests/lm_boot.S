/* lm_boot.S — a tiny 64-bit "kernel" booted by `vmm run --kernel` as an
 * ELF, through the same Linux 64-bit boot protocol path as vmlinux.
 * It checks what the protocol promises and reports on COM1:
 *   - long mode with paging (CR0.PG, EFER.LMA), %rsi = the zero page,
 *   - the zero page's "HdrS" magic, command line and e820 map,
 *   - guest RAM is writable and reads back, up to the top of the e820 map,
 * then writes marker 0x42 to port 0x80 and resets through the i8042.
 * Each UART write is preceded by an LSR read, as a real driver does. */
	.code64
	.section .text
	.globl _start
_start:
	cli
	mov	%rsi, %r15		/* zero page */
	lea	stack_top(%rip), %rsp

	lea	msg_hello(%rip), %rdi
	call	puts

	/* long mode + paging? */
	mov	%cr0, %rax
	bt	$31, %rax
	jnc	fail
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	bt	$10, %eax		/* LMA */
	jnc	fail
	lea	msg_lm(%rip), %rdi
	call	puts

	/* zero page: %rsi and the HdrS magic at 0x202 */
	cmp	$0x7000, %r15
	jne	fail
	cmpl	$0x53726448, 0x202(%r15)
	jne	fail
	lea	msg_zp(%rip), %rdi
	call	puts

	/* command line: cmd_line_ptr at 0x228 */
	lea	msg_cmd(%rip), %rdi
	call	puts
	mov	0x228(%r15), %edi
	call	puts
	lea	msg_nl(%rip), %rdi
	call	puts

	/* e820: count at 0x1e8, 20-byte entries at 0x2d0; sum type-1 RAM
	 * and remember the end of the highest entry */
	movzbl	0x1e8(%r15), %ecx
	lea	0x2d0(%r15), %rbx
	xor	%r12, %r12		/* total RAM */
	xor	%r13, %r13		/* highest RAM end */
1:	test	%ecx, %ecx
	jz	2f
	cmpl	$1, 16(%rbx)
	jne	3f
	mov	(%rbx), %rax
	add	8(%rbx), %r12
	add	8(%rbx), %rax
	cmp	%r13, %rax
	jbe	3f
	mov	%rax, %r13
3:	add	$20, %rbx
	dec	%ecx
	jmp	1b
2:	lea	msg_ram(%rip), %rdi
	call	puts
	mov	%r12, %rax
	shr	$20, %rax		/* MiB, includes the 639 KiB below EBDA */
	add	$1, %rax		/* round: 639 KiB + ... -> whole MiB */
	call	putdec
	lea	msg_mib(%rip), %rdi
	call	puts

	/* memory test: a pattern in the last 4 KiB below the top of RAM
	 * (identity mapped up to 4 GiB) and at 2 MiB */
	movabs	$0x100000000, %rax
	cmp	%rax, %r13
	jbe	4f
	mov	$0xc0000000, %r13	/* above 4 GiB is not mapped: test below the hole */
4:	lea	-4096(%r13), %rdi
	call	memtest
	mov	$0x200000, %rdi
	call	memtest
	lea	msg_mem(%rip), %rdi
	call	puts

	mov	$0x42, %al
	out	%al, $0x80
	lea	msg_done(%rip), %rdi
	call	puts
reset:
	mov	$0xfe, %al
	out	%al, $0x64
	jmp	reset

fail:
	lea	msg_fail(%rip), %rdi
	call	puts
	jmp	reset

/* memtest(%rdi = 4 KiB area): write an address-derived pattern, read back */
memtest:
	mov	$512, %ecx
	mov	%rdi, %rsi
5:	mov	%rsi, %rax
	xor	$0x5a5a5a5a, %rax
	mov	%rax, (%rsi)
	add	$8, %rsi
	loop	5b
	mov	$512, %ecx
	mov	%rdi, %rsi
6:	mov	%rsi, %rax
	xor	$0x5a5a5a5a, %rax
	cmp	%rax, (%rsi)
	jne	fail
	add	$8, %rsi
	loop	6b
	ret

/* puts(%rdi = NUL-terminated string) */
puts:
	movzbl	(%rdi), %eax
	test	%al, %al
	jz	7f
	call	putc
	inc	%rdi
	jmp	puts
7:	ret

/* putc(%al): wait for THRE in LSR, then write THR */
putc:
	push	%rdx
	mov	%al, %ah
	mov	$0x3fd, %dx
8:	in	%dx, %al
	test	$0x20, %al
	jz	8b
	mov	$0x3f8, %dx
	mov	%ah, %al
	out	%al, %dx
	pop	%rdx
	ret

/* putdec(%rax): print unsigned decimal */
putdec:
	lea	numbuf_end(%rip), %rsi
	movb	$0, (%rsi)
	mov	$10, %rcx
9:	xor	%edx, %edx
	div	%rcx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%rax, %rax
	jnz	9b
	mov	%rsi, %rdi
	jmp	puts

	.section .rodata
msg_hello:	.asciz "lm_boot: hello from long mode\r\n"
msg_lm:		.asciz "lm_boot: paging and EFER.LMA on\r\n"
msg_zp:		.asciz "lm_boot: zero page at 0x7000 with HdrS\r\n"
msg_cmd:	.asciz "lm_boot: cmdline=["
msg_nl:		.asciz "]\r\n"
msg_ram:	.asciz "lm_boot: e820 ram="
msg_mib:	.asciz " MiB\r\n"
msg_mem:	.asciz "lm_boot: memory test passed\r\n"
msg_done:	.asciz "lm_boot: done\r\n"
msg_fail:	.asciz "lm_boot: FAIL\r\n"

	.section .bss
	.align	16
numbuf:		.space 32
numbuf_end:	.space 8
stack:		.space 4096
stack_top:
