/* Running WebAssembly code under a trap handler (traps longjmp back to the caller):
     int trap;
     SH4RT_WASM_TRY(trap);           // 0 now; the trap code after a trap
     if (trap == 0) { ...call exports...; SH4RT_WASM_END(); }
   Use it in a function that stays active while the WebAssembly code runs. */
#ifndef SH4RT_WASM_RT_SH4_H
#define SH4RT_WASM_RT_SH4_H
#include "wasm-rt.h"
extern jmp_buf sh4rt_wasm_jmp_buf;
extern int sh4rt_wasm_try_active;
#define SH4RT_WASM_TRY(trap)             \
  do {                                   \
    sh4rt_wasm_try_active = 1;           \
    (trap) = setjmp(sh4rt_wasm_jmp_buf); \
  } while (0)
#define SH4RT_WASM_END() (sh4rt_wasm_try_active = 0)
#endif
