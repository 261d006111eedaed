/* setjmp/longjmp for SH-4 (GCC ABI, little endian, -m4).
   Saves the callee-saved state: r8-r15, pr, mach, macl, gbr, fpscr, fr12-fr15.
   jmp_buf layout (words): 0-7 r8..r15, 8 pr, 9 mach, 10 macl, 11 gbr,
   12 fpscr, 13-16 fr12..fr15. */
	.text
	.align 2
	.global setjmp
	.type setjmp, @function
setjmp:				/* r4 = env */
	mov.l	r8, @(0,r4)
	mov.l	r9, @(4,r4)
	mov.l	r10, @(8,r4)
	mov.l	r11, @(12,r4)
	mov.l	r12, @(16,r4)
	mov.l	r13, @(20,r4)
	mov.l	r14, @(24,r4)
	mov.l	r15, @(28,r4)
	sts	pr, r0
	mov.l	r0, @(32,r4)
	sts	mach, r0
	mov.l	r0, @(36,r4)
	sts	macl, r0
	mov.l	r0, @(40,r4)
	stc	gbr, r0
	mov.l	r0, @(44,r4)
	sts	fpscr, r0
	mov.l	r0, @(48,r4)
	mov	r4, r1
	add	#68, r1		/* pre-decrement stores: fr15 at 64 .. fr12 at 52 */
	fmov.s	fr15, @-r1	/* fmov.s moves 32 bits while FPSCR.SZ=0 */
	fmov.s	fr14, @-r1
	fmov.s	fr13, @-r1
	fmov.s	fr12, @-r1
	rts
	mov	#0, r0
	.size setjmp, .-setjmp

	.align 2
	.global longjmp
	.type longjmp, @function
longjmp:			/* r4 = env, r5 = val */
	mov.l	@(48,r4), r0
	lds	r0, fpscr	/* restore mode first (SZ=0 needed for fmov.s) */
	mov	r4, r1
	add	#52, r1
	fmov.s	@r1+, fr12
	fmov.s	@r1+, fr13
	fmov.s	@r1+, fr14
	fmov.s	@r1+, fr15
	mov.l	@(44,r4), r0
	ldc	r0, gbr
	mov.l	@(40,r4), r0
	lds	r0, macl
	mov.l	@(36,r4), r0
	lds	r0, mach
	mov.l	@(32,r4), r0
	lds	r0, pr
	mov.l	@(0,r4), r8
	mov.l	@(4,r4), r9
	mov.l	@(8,r4), r10
	mov.l	@(12,r4), r11
	mov.l	@(16,r4), r12
	mov.l	@(20,r4), r13
	mov.l	@(24,r4), r14
	mov.l	@(28,r4), r15
	mov	r5, r0
	tst	r0, r0		/* longjmp(env, 0) returns 1 */
	bf	1f
	mov	#1, r0
1:	rts
	nop
	.size longjmp, .-longjmp

	.section .note.GNU-stack,"",@progbits
