/* setjmp/longjmp for the R3000 (MIPS I, o32, soft float), for the shared wasm-rt's traps.
   Saves what the o32 ABI makes callee-saved: s0-s7 ($16-$23), gp ($28), sp ($29), fp ($30)
   and ra ($31); with soft float there is no FP register to keep.
   jmp_buf layout (words): 0-7 s0..s7, 8 gp, 9 sp, 10 fp, 11 ra.
   MIPS I has load delay slots: the word a load brings is not yet in its register for the next
   instruction. longjmp therefore loads ra first, long before the jr that uses it, and no
   instruction reads a register the one before it loaded. Branch delay slots are filled by hand
   (noreorder). */
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
	lw	$29, 36($4)	/* sp last: nothing below reads it */
	sltiu	$8, $5, 1	/* t0 = (val == 0) */
	jr	$31
	addu	$2, $5, $8	/* delay slot: returns val, or 1 for longjmp(env, 0) */
	.end	longjmp
	.size	longjmp, .-longjmp

	.section .note.GNU-stack,"",@progbits
