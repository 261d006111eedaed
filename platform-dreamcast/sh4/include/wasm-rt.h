/* wasm-rt.h as wasm2c's generated code includes it: wabt's own header (which the build copies
   from the installed wabt as wasm-rt-wabt.h, so that it always matches the wasm2c that generated
   the code), plus an aligned fast path for the loads and stores of linear memory.

   wasm2c reads and writes linear memory with wasm_rt_memcpy(dest, src, sizeof(T)). GCC cannot
   know the alignment of a linear-memory address, and the SH-4 raises an address error on an
   unaligned word access, so a plain copy becomes byte loads and shifts. Here a copy of a
   constant 2, 4 or 8 bytes checks the address once and moves whole 16- or 32-bit words when it
   is aligned (as nearly every access of compiled Rust is), and falls back to the byte copy
   otherwise. */
#ifndef SH4RT_WASM_RT_H
#define SH4RT_WASM_RT_H

#include "wasm-rt-wabt.h"

typedef uint16_t __attribute__((may_alias)) sh4rt_alias_u16;
typedef uint32_t __attribute__((may_alias)) sh4rt_alias_u32;

static inline __attribute__((always_inline)) void *sh4rt_wasm_memcpy(void *d, const void *s, size_t n)
{
  if (__builtin_constant_p(n)) {
    uintptr_t either = (uintptr_t)d | (uintptr_t)s;
    if (n == 2 && (either & 1) == 0) {
      *(sh4rt_alias_u16 *)d = *(const sh4rt_alias_u16 *)s;
      return d;
    }
    if (n == 4 && (either & 3) == 0) {
      *(sh4rt_alias_u32 *)d = *(const sh4rt_alias_u32 *)s;
      return d;
    }
    if (n == 8 && (either & 3) == 0) {
      ((sh4rt_alias_u32 *)d)[0] = ((const sh4rt_alias_u32 *)s)[0];
      ((sh4rt_alias_u32 *)d)[1] = ((const sh4rt_alias_u32 *)s)[1];
      return d;
    }
  }
  return __builtin_memcpy(d, s, n);
}

#undef wasm_rt_memcpy
#define wasm_rt_memcpy sh4rt_wasm_memcpy

#endif
