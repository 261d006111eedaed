/* Components merged into one WebAssembly module (`flight merge` with the plan's segments),
   translated by wasm2c and run frame by frame on a console: the table `flight build` writes
   from the plan (`flight-table.c`), the frame loop every console shares (src/frames.c), and
   what each console's port gives that loop.

   The loop's steps are the host's (`flight run`), so that the two print the same lines: zero
   every segment and shared region, instantiate the module, call each component's attach with
   each of its shared regions, then for each frame call each component's frame(n) in the order
   given. A trap ends that component's frame only: the loop prints `trap NAME: WHY` (a check's
   kind and CPU address, read from the component's trap export, or WebAssembly's own trap),
   clears the export and goes on with the others. */
#ifndef FLIGHT_COMPONENTS_H
#define FLIGHT_COMPONENTS_H
#include <stdint.h>

/* The most shared regions one component reaches (the table writer refuses more). */
#define FLIGHT_MAX_SHARED 8
/* The most components one module holds (the table writer refuses more). */
#define FLIGHT_MAX_COMPONENTS 32

/* One component: its exports, as calls on the module's instance. */
struct flight_component {
  const char *name;
  uint32_t (*frame)(void *instance, uint32_t n);
  void (*attach)(void *instance, uint32_t index, uint32_t address); /* 0: none */
  uint64_t *(*trap)(void *instance);                                /* 0: unchecked */
  uint32_t masked; /* 1: its addresses are masked into its segment in this module */
  uint32_t shared_count;
  uint32_t shared[FLIGHT_MAX_SHARED]; /* each region's address as the component reaches it */
};

/* A span of the merged memory [start, end) and the CPU address of its first byte. */
struct flight_window {
  uint32_t start, end;
  uintptr_t cpu;
};

/* One merged module: its instance, its components in the order they run. */
struct flight_module {
  void *(*instantiate)(void);
  const struct flight_component *components;
  uint32_t count;
};

/* What `flight build` writes (flight-table.c). */
extern const struct flight_module flight_planned;   /* each confined as the plan says */
extern const struct flight_module flight_checked;   /* each with bounds checks (the planned
                                                       module itself when nothing is masked) */
extern const struct flight_module flight_unchecked; /* the same components, neither */
/* The plan's windows (budgets); the merged memory's address 0 is at the CPU address
   flight_memory_cpu, which every window shares (data = flight_memory_cpu + address). */
extern const struct flight_window flight_windows[];
extern const uint32_t flight_window_count;
extern const uintptr_t flight_memory_cpu;
/* Every segment and shared region, zeroed before each instantiation. */
extern const struct flight_window flight_zeroed[];
extern const uint32_t flight_zeroed_count;
/* How many frames to run. */
extern const uint32_t flight_frames;

/* The plan's window `i` (a budget), or 0 past the last: for a port that reserves them. */
const struct flight_window *flight_budget(uint32_t i);

/* The trap contract, from the project's own (flight_memory::layout::trap), written into the
   table: the check kinds' words by code, the bit their code starts at in a trap export, and
   the words of wasm2c's own traps by wasm_rt_trap_t code. */
extern const char *const flight_check_kinds[];
extern const uint32_t flight_check_kind_count;
extern const uint32_t flight_trap_shift;
extern const char *const flight_native_traps[];
extern const uint32_t flight_native_trap_count;

/* The port's. */
void flight_console_write(const char *text, uint32_t len);
uint64_t flight_ticks(void);     /* a free-running counter */
uint32_t flight_ticks_hz(void);  /* its rate */
const char *flight_console_name(void);

/* Runs the planned module for flight_frames frames, printing the protocol (begin marker,
   frame and trap lines, end marker), then times it again without printing, the checked one
   (if it is another) and the unchecked one alike; prints `time` lines of all. Returns 0. */
int flight_components_main(void);
#endif
