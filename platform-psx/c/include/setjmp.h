/* Freestanding shim: setjmp/longjmp for the R3000 (setjmp.S).
   jmp_buf words: s0-s7, gp, sp, fp (s8), ra (12 in all; soft float: no FP registers). */
#ifndef FLIGHT_PSX_SETJMP_H
#define FLIGHT_PSX_SETJMP_H
typedef int jmp_buf[12];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#endif
