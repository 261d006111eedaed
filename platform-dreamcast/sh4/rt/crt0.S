/* Start-up code for both SH-4 machines. The loader enters _start at the image's first byte:
   gxemul's Dreamcast at 0x8C010000 (P1), qemu's R2D at 0xAC800000 (the P2 alias of an image
   linked at 0x8C800000), so the code is position-independent until it jumps to its linked
   (P1, cached) address.

   1. SR = 0x400000F0: privileged (MD=1), register bank 0, exceptions unblocked (BL=0), FPU on
      (FD=0), interrupts masked (IMASK=15): the runtime polls, and every exception that reaches
      the vectors is reported as a crash;
   2. r15 = _stack_top; VBR = __vbr (the vectors below);
   3. FPSCR = 0x000C0000: PR=1 (double precision, which code compiled with -m4 assumes), DN=1,
      SZ=0, round to nearest, no FPU exceptions enabled;
   4. .bss cleared a word at a time (the script asserts its bounds are word-aligned);
   5. sh4_start() (rt/machine.c): console and timer set-up, then exit(main()). */
	.section .text.start, "ax"
	.align 2
	.global _start
	.type _start, @function
_start:
	mov.l	k_sr, r0
	ldc	r0, sr
	mov.l	k_p1, r0
	jmp	@r0
	nop
	.align 2
k_sr:	.long	0x400000F0
k_p1:	.long	1f
1:
	mov.l	k_stack, r15
	mov.l	k_vbr, r0
	ldc	r0, vbr
	mov.l	k_fpscr, r0
	lds	r0, fpscr
	mov.l	k_bss, r1
	mov.l	k_ebss, r2
	mov	#0, r0
2:	cmp/hs	r2, r1
	bt	3f
	mov.l	r0, @r1
	bra	2b
	add	#4, r1
3:
	mov.l	k_start, r0
	jmp	@r0		/* never returns */
	nop
	.align 2
k_stack: .long	_stack_top
k_vbr:	.long	__vbr
k_fpscr: .long	0x000C0000
k_bss:	.long	__bss_start
k_ebss:	.long	__bss_end
k_start: .long	sh4_start
	.size _start, .-_start

/* Exception vectors: VBR+0x100 general exceptions, +0x400 TLB misses, +0x600 interrupts. Each
   passes its offset (in units of 0x100) in r6 to sh4_exception(expevt, spc, vector, r15) on an
   exception stack of its own (r15 may be what broke), which reports and ends the run. The
   handlers run with SR.BL=1: a second exception here resets the CPU. */
	.section .text.vectors, "ax"
	.balign 1024
	.global __vbr
__vbr:
	.org	0x100
	bra	vec_common
	mov	#1, r6
	.org	0x400
	bra	vec_common
	mov	#4, r6
	.org	0x600
	bra	vec_common
	mov	#6, r6
vec_common:
	mov.l	k_expevt, r0
	mov.l	@r0, r4
	stc	spc, r5
	mov	r15, r7
	mov.l	k_excstk, r15
	mov.l	k_report, r0
	jmp	@r0
	nop
	.align 2
k_expevt: .long	0xFF000024
k_excstk: .long	__exception_stack_top
k_report: .long	sh4_exception

	.section .note.GNU-stack,"",@progbits
