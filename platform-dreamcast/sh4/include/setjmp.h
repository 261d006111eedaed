/* Freestanding shim: setjmp/longjmp (rt/setjmp.S).
   jmp_buf words: r8-r15, pr, mach, macl, gbr, fpscr, fr12-fr15 (18 in all). */
#ifndef SH4RT_SETJMP_H
#define SH4RT_SETJMP_H
typedef int jmp_buf[18];
int setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int val) __attribute__((noreturn));
#endif
