/* The SH-4's port of the shared wasm-rt (rt/wasm2c in the repository's top folder): linear
   memory in the arena the linker script reserves (__wasm_arena_start .. __wasm_arena_end, whole
   64 KiB pages), and reports on the SCIF with the exit statuses the runners read. */
#include "sh4rt.h"
#include "wasm-rt-flight.h"

uint8_t *flight_wasm_arena(uint32_t *pages)
{
  *pages = (SH4RT_SYMBOL(__wasm_arena_end) - SH4RT_SYMBOL(__wasm_arena_start)) / 65536u;
  return (uint8_t *)__wasm_arena_start;
}

void flight_wasm_fatal(const char *msg) { sh4_fatal(msg); }

void flight_wasm_uncaught_trap(uint32_t code)
{
  sh4_puts("flight-sh4: wasm trap outside FLIGHT_WASM_TRY: ");
  sh4_puts(wasm_rt_strerror((wasm_rt_trap_t)code));
  sh4_puts("\n");
  exit(100 + (int)code);
}
