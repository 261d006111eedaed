/* Freestanding shim: setjmp/longjmp for the MIPS consoles (../setjmp.S).
   jmp_buf words: s0-s7, gp, sp, fp (s8), ra; with hard float also $f20-$f31. */
#ifndef FLIGHT_MIPS_SETJMP_H
#define FLIGHT_MIPS_SETJMP_H
#ifdef __mips_hard_float
typedef int jmp_buf[24];
#else
typedef int jmp_buf[12];
#endif
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#endif
