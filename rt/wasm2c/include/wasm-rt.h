/* wasm-rt.h as wasm2c's generated code includes it: wabt's own header (which the build copies
   from the installed wabt as wasm-rt-wabt.h, so that it always matches the wasm2c that generated
   the code), plus, where the console's flags ask for it (-DFLIGHT_WASM_ALIGNED_FAST_PATH), an
   aligned fast path for the loads and stores of linear memory.

   wasm2c reads and writes linear memory with wasm_rt_memcpy(dest, src, sizeof(T)). GCC cannot
   know the alignment of a linear-memory address. On the SH-4, which raises an address error on
   an unaligned word access and has no unaligned load, a plain copy becomes byte loads and
   shifts: the fast path checks the address once and moves whole 16- or 32-bit words when it is
   aligned (as nearly every access of compiled Rust is), and falls back to the byte copy
   otherwise. MIPS needs none: GCC copies an unknown-alignment word with the lwl/lwr and swl/swr
   pairs, which cost no more than the check. */
#ifndef FLIGHT_WASM_RT_H
#define FLIGHT_WASM_RT_H

/* -DFLIGHT_WASM_NO_BOUNDS_CHECKS (merged components, checked by the rebaser or not): wasm2c's
   own check of every load and store against the memory's size is left out, as wabt leaves it
   out when a signal handler catches accesses past the memory (here nothing does: the merged
   module's own checks keep each component in its segment). Call depth is still counted. */
#ifdef FLIGHT_WASM_NO_BOUNDS_CHECKS
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#define WASM_RT_SKIP_SIGNAL_RECOVERY 1
#define WASM_RT_USE_STACK_DEPTH_COUNT 1
#endif
#include "wasm-rt-wabt.h"

#ifdef FLIGHT_WASM_ALIGNED_FAST_PATH
typedef uint16_t __attribute__((may_alias)) flight_wasm_alias_u16;
typedef uint32_t __attribute__((may_alias)) flight_wasm_alias_u32;

static inline __attribute__((always_inline)) void *flight_wasm_memcpy(void *d, const void *s, size_t n)
{
  if (__builtin_constant_p(n)) {
    uintptr_t either = (uintptr_t)d | (uintptr_t)s;
    if (n == 2 && (either & 1) == 0) {
      *(flight_wasm_alias_u16 *)d = *(const flight_wasm_alias_u16 *)s;
      return d;
    }
    if (n == 4 && (either & 3) == 0) {
      *(flight_wasm_alias_u32 *)d = *(const flight_wasm_alias_u32 *)s;
      return d;
    }
    if (n == 8 && (either & 3) == 0) {
      ((flight_wasm_alias_u32 *)d)[0] = ((const flight_wasm_alias_u32 *)s)[0];
      ((flight_wasm_alias_u32 *)d)[1] = ((const flight_wasm_alias_u32 *)s)[1];
      return d;
    }
  }
  return __builtin_memcpy(d, s, n);
}

#undef wasm_rt_memcpy
#define wasm_rt_memcpy flight_wasm_memcpy
#endif

#endif
