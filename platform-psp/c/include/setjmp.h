/* Freestanding shim: setjmp/longjmp for the PSP's Allegrex (setjmp.S).
   jmp_buf words: s0-s7, gp, sp, fp (s8), ra, then $f20-$f31 (24 in all). */
#ifndef FLIGHT_PSP_SETJMP_H
#define FLIGHT_PSP_SETJMP_H
typedef int jmp_buf[24];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#endif
