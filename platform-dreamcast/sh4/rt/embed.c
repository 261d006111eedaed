/* The embedder: instantiates the WebAssembly module (wasm2c name "image"), provides its
   imports (module "env"), grows its linear memory over the whole arena, moves its stack to the
   top of that memory and runs its export run(); what run() returns is the exit status.

   Linear memory, as the program sees it (offsets), and where the numbers come from:
     0 .. _wasm_data_start              wasm-ld's own stack, unused (the stack moves, below)
     _wasm_data_start .. _wasm_data_end the module's initialised data
     _wasm_data_end .. _wasm_bss_end    its zero-initialised data (.bss; zeroed with the memory)
     _wasm_heap_base .. stack_low       the heap (the program's allocator)
     stack_low .. stack_top             the stack: _wasm_stack_size bytes at the top of memory
   The build reads the first five numbers from the module and passes them to the link, whose
   script asserts that they fit the arena; the program asks for them through `layout`.
   The stack pointer is the instance's w2c___stack_pointer, named from the module's name
   section: build modules with their names (not stripped). */
#include "image.h"
#include "sh4rt.h"
#include "wasm-rt-flight.h"

struct Z_env_instance_t {
  wasm_rt_memory_t *mem;
  uint32_t stack_low, stack_top;
};

static Z_image_instance_t instance;
static struct Z_env_instance_t env;

static void check_range(const struct Z_env_instance_t *e, uint32_t ptr, uint32_t len)
{
  if ((uint64_t)ptr + len > e->mem->size)
    wasm_rt_trap(WASM_RT_TRAP_OOB);
}

/* console_write(ptr, len): writes len bytes of linear memory at ptr to the console. */
void Z_envZ_console_write(struct Z_env_instance_t *e, u32 ptr, u32 len)
{
  check_range(e, ptr, len);
  sh4_write(e->mem->data + ptr, len);
}

/* read32(addr) / write32(addr, value): a 32-bit access at a CPU address, as the CPU does it
   (an unaligned address raises an address error where the CPU checks alignment). */
u32 Z_envZ_read32(struct Z_env_instance_t *e, u32 addr)
{
  (void)e;
  return *(volatile uint32_t *)(uintptr_t)addr;
}

void Z_envZ_write32(struct Z_env_instance_t *e, u32 addr, u32 value)
{
  (void)e;
  *(volatile uint32_t *)(uintptr_t)addr = value;
}

/* sync_cache(addr, len): writes back and invalidates the operand cache over a CPU span. */
void Z_envZ_sync_cache(struct Z_env_instance_t *e, u32 addr, u32 len)
{
  (void)e;
  sh4_sync_cache(addr, len);
}

/* arena_base(): the CPU address of linear memory offset 0. */
u32 Z_envZ_arena_base(struct Z_env_instance_t *e) { return (u32)(uintptr_t)e->mem->data; }

/* layout(part): the offsets above: 0 data start, 1 data end (.bss start), 2 .bss end, 3 heap
   start, 4 heap end (stack low), 5 stack top. */
u32 Z_envZ_layout(struct Z_env_instance_t *e, u32 part)
{
  switch (part) {
  case 0: return SH4RT_SYMBOL(_wasm_data_start);
  case 1: return SH4RT_SYMBOL(_wasm_data_end);
  case 2: return SH4RT_SYMBOL(_wasm_bss_end);
  case 3: return SH4RT_SYMBOL(_wasm_heap_base);
  case 4: return e->stack_low;
  case 5: return e->stack_top;
  }
  wasm_rt_trap(WASM_RT_TRAP_OOB);
  return 0;
}

/* machine(): SH4RT_DREAMCAST or SH4RT_R2D. */
u32 Z_envZ_machine(struct Z_env_instance_t *e)
{
  (void)e;
  return sh4_machine();
}

/* micros(): microseconds since start-up, from TMU channel 0. */
u64 Z_envZ_micros(struct Z_env_instance_t *e)
{
  (void)e;
  return sh4_micros();
}

/* irq_disable(): raises SR.IMASK to 15, masking every interrupt but NMI, and returns SR as it
   was; irq_restore(sr): sets SR.IMASK back to the mask bits of such a value, leaving SR's other
   bits as they are. The program's critical sections are these two. */
u32 Z_envZ_irq_disable(struct Z_env_instance_t *e)
{
  (void)e;
  return sh4_irq_disable();
}

void Z_envZ_irq_restore(struct Z_env_instance_t *e, u32 sr)
{
  (void)e;
  sh4_irq_restore(sr);
}

/* status_register(): SR, as it is. */
u32 Z_envZ_status_register(struct Z_env_instance_t *e)
{
  (void)e;
  return sh4_sr();
}

/* exit(code): ends the run with this status. */
void Z_envZ_exit(struct Z_env_instance_t *e, u32 code)
{
  (void)e;
  exit((int)code);
}

/* breakpoint(): `trapa #63`, an unconditional trap the exception reporter prints. */
void Z_envZ_breakpoint(struct Z_env_instance_t *e)
{
  (void)e;
  __asm__ volatile("trapa #63" ::: "memory");
}

int main(void)
{
  sh4_puts("flight-sh4: runtime up on ");
  sh4_puts(sh4_machine_name());
  sh4_puts("\n");
  wasm_rt_init();
  Z_image_init_module();
  Z_image_instantiate(&instance, &env);
  env.mem = Z_imageZ_memory(&instance);
  if (instance.w2c___stack_pointer != SH4RT_SYMBOL(_wasm_initial_stack_pointer))
    sh4_fatal("the module's __stack_pointer does not hold the value the build read from it");
  uint32_t pages = (SH4RT_SYMBOL(__wasm_arena_end) - SH4RT_SYMBOL(__wasm_arena_start)) / 65536u;
  if (env.mem->pages < pages && wasm_rt_grow_memory(env.mem, pages - env.mem->pages) == (uint32_t)-1)
    sh4_fatal("cannot grow linear memory over the arena (does the module declare a maximum?)");
  env.stack_top = env.mem->size;
  env.stack_low = env.stack_top - SH4RT_SYMBOL(_wasm_stack_size);
  if (env.stack_low < SH4RT_SYMBOL(_wasm_heap_base))
    sh4_fatal("the module's data and its stack overlap in the arena");
  instance.w2c___stack_pointer = env.stack_top;

  int trap;
  FLIGHT_WASM_TRY(trap);
  if (trap == 0) {
    u32 status = Z_imageZ_run(&instance);
    FLIGHT_WASM_END();
    return (int)status;
  }
  sh4_puts("flight-sh4: wasm trap: ");
  sh4_puts(wasm_rt_strerror((wasm_rt_trap_t)trap));
  sh4_puts("\n");
  return 100 + trap;
}
