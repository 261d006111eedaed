/* The `wasm2c` image's C side: instantiates the module `test` (test.wat, translated by wasm2c)
   and gives Rust the calls that may trap, each under a trap handler: they return 0 and store
   the export's result, or return the trap code (wasm_rt_trap_t) when the WebAssembly code
   trapped. A trap longjmps back into these functions, so it unwinds only C frames (the
   generated code's); Rust calls the exports that cannot trap directly, with test_instance(). */
#include "test.h"
#include "wasm-rt-flight.h"

static Z_test_instance_t instance;

/* Instantiates the module with the imports' context `env` (Rust's), its memory in the arena
   Rust gave (flight_wasm_arena); returns where that memory starts. */
uint8_t *test_instantiate(struct Z_env_instance_t *env)
{
  wasm_rt_init();
  Z_test_init_module();
  Z_test_instantiate(&instance, env);
  return Z_testZ_memory(&instance)->data;
}

Z_test_instance_t *test_instance(void) { return &instance; }

/* The size of linear memory in bytes. */
uint32_t test_memory_size(void) { return Z_testZ_memory(&instance)->size; }

/* The call depth the runtime counts, 0 outside any call (a trap resets it). */
uint32_t test_call_depth(void) { return wasm_rt_call_stack_depth; }

#define GUARDED(name, params, call)         \
  uint32_t name params                      \
  {                                         \
    int trap;                               \
    FLIGHT_WASM_TRY(trap);                  \
    if (trap == 0) {                        \
      call;                                 \
      FLIGHT_WASM_END();                    \
    }                                       \
    return (uint32_t)trap;                  \
  }

GUARDED(test_op64, (uint32_t op, uint64_t a, uint64_t b, uint64_t *out), *out = Z_testZ_op64(&instance, op, a, b))
GUARDED(test_fop, (uint32_t op, double a, double b, double *out), *out = Z_testZ_fop(&instance, op, a, b))
GUARDED(test_conv, (uint32_t op, double a, uint64_t b, uint64_t *out), *out = Z_testZ_conv(&instance, op, a, b))
GUARDED(test_load64, (uint32_t at, uint64_t *out), *out = Z_testZ_load64(&instance, at))
GUARDED(test_store64, (uint32_t at, uint64_t v), Z_testZ_store64(&instance, at, v))
GUARDED(test_load32, (uint32_t at, uint32_t *out), *out = Z_testZ_load32(&instance, at))
GUARDED(test_store32, (uint32_t at, uint32_t v), Z_testZ_store32(&instance, at, v))
GUARDED(test_sum, (uint32_t at, uint32_t n, uint32_t *out), *out = Z_testZ_sum(&instance, at, n))
GUARDED(test_dispatch, (uint32_t i, uint32_t x, uint32_t *out), *out = Z_testZ_dispatch(&instance, i, x))
GUARDED(test_boom, (void), Z_testZ_boom(&instance))
GUARDED(test_deep, (uint32_t n, uint32_t *out), *out = Z_testZ_deep(&instance, n))
