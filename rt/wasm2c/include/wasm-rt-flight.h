/* The shared wasm-rt's interface beyond wabt's: running WebAssembly code under a trap handler,
   and what each console's port provides.

   Traps longjmp back to the caller:
     int trap;
     FLIGHT_WASM_TRY(trap);           // 0 now; the trap code (wasm_rt_trap_t) after a trap
     if (trap == 0) { ...call exports...; FLIGHT_WASM_END(); }
   Use it in a C function that stays active while the WebAssembly code runs; the frames a trap
   unwinds are those of the generated code (and the runtime's), never a Rust frame. One handler
   is active at a time. */
#ifndef FLIGHT_WASM_RT_FLIGHT_H
#define FLIGHT_WASM_RT_FLIGHT_H
#include <stdint.h>
#include "wasm-rt.h"

extern jmp_buf flight_wasm_jmp_buf;
extern int flight_wasm_try_active;
#define FLIGHT_WASM_TRY(trap)             \
  do {                                    \
    flight_wasm_try_active = 1;           \
    (trap) = setjmp(flight_wasm_jmp_buf); \
  } while (0)
#define FLIGHT_WASM_END() (flight_wasm_try_active = 0)

/* Gives every function table back to the pool: for a runner that instantiates one module
   after another, once no instance it made before is used again. */
void flight_wasm_release_tables(void);

/* The port: each console provides these (the SH-4's in C, the PlayStation's in Rust). */

/* Where the one linear memory lives: its first byte, and in *pages how many whole 64 KiB pages
   it may grow to. */
uint8_t *flight_wasm_arena(uint32_t *pages);
/* Reports an unrecoverable runtime error (a limit of this runtime, a module it cannot run) and
   stops. */
void flight_wasm_fatal(const char *msg) __attribute__((noreturn));
/* Reports a trap raised while no FLIGHT_WASM_TRY was active, and stops. */
void flight_wasm_uncaught_trap(uint32_t code) __attribute__((noreturn));
#endif
