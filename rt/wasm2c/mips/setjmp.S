/* setjmp/longjmp for the MIPS consoles, for the shared wasm-rt's traps: the R3000 of the
   PlayStation (MIPS I, o32, soft float) and the PSP's Allegrex (MIPS II, o32, single-precision
   hard float). Saves what the o32 ABI makes callee-saved: s0-s7 ($16-$23), gp ($28), sp ($29),
   fp ($30) and ra ($31); with hard float also $f20-$f31 (with single-precision float every one
   of them holds a value of its own).
   jmp_buf layout (words): 0-7 s0..s7, 8 gp, 9 sp, 10 fp, 11 ra, 12-23 $f20..$f31 (hard float).
   MIPS I has load delay slots: the word a load brings is not yet in its register for the next
   instruction. longjmp therefore loads ra first, long before the jr that uses it, and no
   instruction reads a register the one before it loaded. Branch delay slots are filled by hand
   (noreorder). */
#if defined(__mips_hard_float) && !defined(__mips_single_float)
#error "setjmp.S saves single-precision FP registers only: build with -msoft-float or -msingle-float"
#endif
	.text
	.set	noreorder
	.set	noat

	.globl	setjmp
	.type	setjmp, @function
	.ent	setjmp
setjmp:				/* a0 = env */
	sw	$16, 0($4)
	sw	$17, 4($4)
	sw	$18, 8($4)
	sw	$19, 12($4)
	sw	$20, 16($4)
	sw	$21, 20($4)
	sw	$22, 24($4)
	sw	$23, 28($4)
	sw	$28, 32($4)
	sw	$29, 36($4)
	sw	$30, 40($4)
	sw	$31, 44($4)
#ifdef __mips_hard_float
	swc1	$f20, 48($4)
	swc1	$f21, 52($4)
	swc1	$f22, 56($4)
	swc1	$f23, 60($4)
	swc1	$f24, 64($4)
	swc1	$f25, 68($4)
	swc1	$f26, 72($4)
	swc1	$f27, 76($4)
	swc1	$f28, 80($4)
	swc1	$f29, 84($4)
	swc1	$f30, 88($4)
	swc1	$f31, 92($4)
#endif
	jr	$31
	move	$2, $0		/* delay slot: setjmp returns 0 */
	.end	setjmp
	.size	setjmp, .-setjmp

	.globl	longjmp
	.type	longjmp, @function
	.ent	longjmp
longjmp:			/* a0 = env, a1 = val */
	lw	$31, 44($4)	/* first: read by the jr at the end */
	lw	$16, 0($4)
	lw	$17, 4($4)
	lw	$18, 8($4)
	lw	$19, 12($4)
	lw	$20, 16($4)
	lw	$21, 20($4)
	lw	$22, 24($4)
	lw	$23, 28($4)
	lw	$28, 32($4)
	lw	$30, 40($4)
#ifdef __mips_hard_float
	lwc1	$f20, 48($4)
	lwc1	$f21, 52($4)
	lwc1	$f22, 56($4)
	lwc1	$f23, 60($4)
	lwc1	$f24, 64($4)
	lwc1	$f25, 68($4)
	lwc1	$f26, 72($4)
	lwc1	$f27, 76($4)
	lwc1	$f28, 80($4)
	lwc1	$f29, 84($4)
	lwc1	$f30, 88($4)
	lwc1	$f31, 92($4)
#endif
	lw	$29, 36($4)	/* sp last: nothing below reads it */
	sltiu	$8, $5, 1	/* t0 = (val == 0) */
	jr	$31
	addu	$2, $5, $8	/* delay slot: returns val, or 1 for longjmp(env, 0) */
	.end	longjmp
	.size	longjmp, .-longjmp

	.section .note.GNU-stack,"",@progbits
