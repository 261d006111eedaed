/* Freestanding shim: abort and exit (the console's port). */
#ifndef FLIGHT_WASM_STDLIB_H
#define FLIGHT_WASM_STDLIB_H
#include <stddef.h>
void abort(void) __attribute__((noreturn));
void exit(int code) __attribute__((noreturn));
#endif
