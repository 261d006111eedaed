/* The freestanding wasm-rt API (wabt 1.0.32) that wasm2c's generated code calls, the same on
   every console: one linear memory in the arena the console's port gives
   (flight_wasm_arena: its address and a whole number of 64 KiB pages), function tables from a
   static pool, the function-type registry, and traps that longjmp back to the caller
   (wasm-rt-flight.h). Exception handling (tags) is not supported: Rust code is built with
   panic=abort. */
#include <stdarg.h>
#include <string.h>
#include "wasm-rt.h"
#include "wasm-rt-flight.h"
#ifdef FLIGHT_WASM_PLACED_MEMORY
#include "flight-components.h"
#endif

#ifndef FLIGHT_WASM_TABLE_SLOTS
#define FLIGHT_WASM_TABLE_SLOTS 2048 /* funcref entries for all tables together */
#endif
#define MAX_FUNC_TYPES 256
#define MAX_TYPE_CODES 2048

static wasm_rt_funcref_t table_pool[FLIGHT_WASM_TABLE_SLOTS];
static uint32_t table_used;
static bool memory_allocated;

static struct {
  uint16_t params, results, first;
} func_types[MAX_FUNC_TYPES];
static uint8_t type_codes[MAX_TYPE_CODES];
static uint32_t n_func_types, n_type_codes;

static bool initialized;
uint32_t wasm_rt_call_stack_depth;
jmp_buf flight_wasm_jmp_buf;
int flight_wasm_try_active;

static uint32_t arena_pages(void)
{
  uint32_t pages;
  (void)flight_wasm_arena(&pages);
  return pages;
}

void wasm_rt_init(void) { initialized = true; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

void wasm_rt_trap(wasm_rt_trap_t code)
{
  wasm_rt_call_stack_depth = 0;
  if (flight_wasm_try_active) {
    flight_wasm_try_active = 0;
    longjmp(flight_wasm_jmp_buf, (int)code);
  }
  flight_wasm_uncaught_trap((uint32_t)code);
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
  switch (trap) {
  case WASM_RT_TRAP_NONE: return "no error";
  case WASM_RT_TRAP_OOB: return "out of bounds memory access";
  case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
  case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
  case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
  case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
  case WASM_RT_TRAP_CALL_INDIRECT: return "invalid call_indirect";
  case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
  case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
  }
  return "unknown trap";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
  uint8_t sig[64];
  uint32_t n = params + results;
  if (n > sizeof sig)
    flight_wasm_fatal("a function type has more than 64 parameters and results");
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < n; i++)
    sig[i] = (uint8_t)va_arg(ap, int); /* wasm_rt_type_t, promoted */
  va_end(ap);
  for (uint32_t t = 0; t < n_func_types; t++)
    if (func_types[t].params == params && func_types[t].results == results &&
        memcmp(&type_codes[func_types[t].first], sig, n) == 0)
      return t;
  if (n_func_types == MAX_FUNC_TYPES || n_type_codes + n > MAX_TYPE_CODES)
    flight_wasm_fatal("too many function types (raise MAX_FUNC_TYPES in src/wasm-rt.c)");
  func_types[n_func_types].params = (uint16_t)params;
  func_types[n_func_types].results = (uint16_t)results;
  func_types[n_func_types].first = (uint16_t)n_type_codes;
  memcpy(&type_codes[n_type_codes], sig, n);
  n_type_codes += n;
  return n_func_types++;
}

#ifdef FLIGHT_WASM_PLACED_MEMORY
/* Placed memory (merged components): the memory is a view of the console's RAM, address 0 at
   flight_memory_cpu, where the plan's segments lie. Nothing is zeroed here (the embedder zeroes
   the segments; the rest belongs to others), it never grows (the plan fixed its size), and
   every module the image instantiates sees the same view. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages)
{
  mem->data = (uint8_t *)flight_memory_cpu;
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = initial_pages * 65536u;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta)
{
  (void)mem;
  (void)delta;
  return (uint32_t)-1;
}
#else
void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages)
{
  if (memory_allocated)
    flight_wasm_fatal("only one linear memory is supported");
  uint32_t pages;
  mem->data = flight_wasm_arena(&pages);
  if (initial_pages > pages)
    flight_wasm_fatal("the module's initial memory is larger than the arena");
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = initial_pages * 65536u;
  memset(mem->data, 0, mem->size);
  memory_allocated = true;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta)
{
  uint32_t old = mem->pages;
  uint32_t limit = mem->max_pages < arena_pages() ? mem->max_pages : arena_pages();
  if (delta > limit - old)
    return (uint32_t)-1;
  memset(mem->data + mem->size, 0, delta * 65536u);
  mem->pages = old + delta;
  mem->size = mem->pages * 65536u;
  return old;
}
#endif

void wasm_rt_free_memory(wasm_rt_memory_t *mem)
{
  (void)mem;
  memory_allocated = false;
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *t, uint32_t elements, uint32_t max)
{
  if (elements > FLIGHT_WASM_TABLE_SLOTS - table_used)
    flight_wasm_fatal("the funcref table pool is exhausted (raise FLIGHT_WASM_TABLE_SLOTS)");
  t->data = &table_pool[table_used];
  table_used += elements;
  for (uint32_t i = 0; i < elements; i++)
    t->data[i] = wasm_rt_funcref_null_value;
  t->size = elements;
  t->max_size = max;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *t) { (void)t; }

void flight_wasm_release_tables(void) { table_used = 0; }

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *t, uint32_t delta, wasm_rt_funcref_t init)
{
  (void)t;
  (void)delta;
  (void)init;
  return (uint32_t)-1; /* tables have a fixed size here */
}
