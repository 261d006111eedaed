/* Freestanding shim: the mem* and str* functions (src/string.c, or the port's own). */
#ifndef FLIGHT_WASM_STRING_H
#define FLIGHT_WASM_STRING_H
#include <stddef.h>
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif
