/* start64.S — entry of the tiny 64-bit C test guests (nic_tx.c), booted by
 * `vmm run --kernel` through the Linux 64-bit boot protocol: long mode,
 * the first 4 GiB identity mapped, %rsi = the zero page. Sets up a stack,
 * calls guest_main(zero page) and then resets the VM through the i8042. */
	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	lea	stack_top(%rip), %rsp
	mov	%rsi, %rdi		/* guest_main(zero page) */
	call	guest_main
	.globl guest_reset
guest_reset:
	mov	$0xfe, %al
	out	%al, $0x64
	jmp	guest_reset

	.section .bss
	.align	16
stack:		.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
