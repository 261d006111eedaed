/* Freestanding shim: abort and exit (rt/machine.c). */
#ifndef SH4RT_STDLIB_H
#define SH4RT_STDLIB_H
#include <stddef.h>
void abort(void) __attribute__((noreturn));
void exit(int code) __attribute__((noreturn));
#endif
