/* The SH-4 runtime's C interface: the machine, the console (SCIF), the timer (TMU channel 0),
   the data cache, the interrupt mask, exit, and the symbols the linker script defines. One
   runtime serves two machines, chosen at compile time:
     -DSH4RT_MACHINE_DREAMCAST  the Dreamcast (SH7750, Pphi 50 MHz), as gxemul emulates it;
     -DSH4RT_MACHINE_R2D        the Renesas R2D board (SH7751R, Pphi 60 MHz), as qemu emulates it. */
#ifndef SH4RT_H
#define SH4RT_H
#include <stddef.h>
#include <stdint.h>

/* What sh4_machine() returns (and the WebAssembly import `machine`). */
#define SH4RT_DREAMCAST 0u
#define SH4RT_R2D 1u

uint32_t sh4_machine(void);
const char *sh4_machine_name(void);

/* Console output on the SCIF; '\n' goes out as CR LF. */
void sh4_putc(char c);
void sh4_write(const void *p, size_t n);
void sh4_puts(const char *s); /* no newline added */
void sh4_puthex(uint32_t v);  /* 0x%08x */
void sh4_putdec(uint32_t v);
void sh4_flush(void);

/* TMU channel 0, free-running from start-up at Pphi/4. sh4_ticks() extends the 32-bit counter
   to 64 bits: call it at least once per wrap (343 s on the Dreamcast, 286 s on the R2D). */
uint64_t sh4_ticks(void);
uint64_t sh4_micros(void);
uint32_t sh4_ticks_hz(void); /* sh4_ticks' rate: Pphi/4 */

/* Writes back and invalidates the operand cache over [addr, addr + len). */
void sh4_sync_cache(uint32_t addr, uint32_t len);

/* The status register's interrupt mask, SR.IMASK (bits 7..4): the CPU accepts an interrupt
   only if its priority is above IMASK, so 15 admits none but NMI. The runtime starts with
   IMASK = 15 and installs no interrupt handler (an interrupt that reaches VBR+0x600 is reported
   as a crash). Each change is one asm statement that reads SR, changes only IMASK and writes SR
   back, so every other bit (MD, RB, BL, FD, and T, S, Q, M) keeps the value it has at that
   point. "memory" makes each a compiler barrier: memory accesses stay on their side of a
   change of the mask. */
#define SH4RT_SR_IMASK 0x000000F0u

/* SR, as it is. */
static inline uint32_t sh4_sr(void)
{
  uint32_t sr;
  __asm__ volatile("stc sr, %0" : "=r"(sr) : : "memory");
  return sr;
}

/* Raises SR.IMASK to 15 (every interrupt but NMI masked) and returns SR as it was before.
   SR is written only if the mask changes (cmp/eq, bt: `ldc sr` is the costly part). */
static inline uint32_t sh4_irq_disable(void)
{
  uint32_t sr, masked;
  __asm__ volatile("stc sr, %0\n\t"
                   "mov %0, %1\n\t"
                   "or %2, %1\n\t"
                   "cmp/eq %0, %1\n\t"
                   "bt 1f\n\t"
                   "ldc %1, sr\n"
                   "1:"
                   : "=&r"(sr), "=&r"(masked)
                   : "r"(SH4RT_SR_IMASK)
                   : "t", "memory");
  return sr;
}

/* Sets SR.IMASK to the IMASK bits of `sr` (a value sh4_irq_disable or sh4_sr returned); the
   other bits of SR are left as they are now. As above, SR is written only if the mask changes. */
static inline void sh4_irq_restore(uint32_t sr)
{
  uint32_t now, next;
  __asm__ volatile("stc sr, %0\n\t"
                   "mov %0, %1\n\t"
                   "and %3, %1\n\t"
                   "or %2, %1\n\t"
                   "cmp/eq %0, %1\n\t"
                   "bt 1f\n\t"
                   "ldc %1, sr\n"
                   "1:"
                   : "=&r"(now), "=&r"(next)
                   : "r"(sr & SH4RT_SR_IMASK), "r"(~SH4RT_SR_IMASK)
                   : "t", "memory");
}

/* Prints "flight-sh4: exit CODE", then ends the run (the BIOS exit on the Dreamcast, the
   board's power-off on the R2D). */
void exit(int code) __attribute__((noreturn));

/* Prints "flight-sh4: fatal: MSG" and exits with status 120. */
void sh4_fatal(const char *msg) __attribute__((noreturn));

/* The linker script's symbols (addresses; see link/sh4-image.ld). */
extern char __wasm_arena_start[], __wasm_arena_end[];
extern char _wasm_stack_size[];
extern char _wasm_data_start[], _wasm_data_end[], _wasm_bss_end[], _wasm_heap_base[];
extern char _wasm_initial_stack_pointer[];
#define SH4RT_SYMBOL(s) ((uint32_t)(uintptr_t)(s))

#endif
