/* The machine: SCIF console, TMU timer, operand cache, exit and the exception reporter.
   Both machines have the SCIF at 0xFFE80000 and the TMU at 0xFFD80000 (on-chip, P4). */
#include "sh4rt.h"
#include <string.h>

#if defined(SH4RT_MACHINE_DREAMCAST)
#define MACHINE SH4RT_DREAMCAST
#define MACHINE_NAME "dreamcast"
#define PERIPHERAL_MHZ 50u /* Pphi of the Dreamcast's SH7750 (200 MHz CPU clock / 4) */
#elif defined(SH4RT_MACHINE_R2D)
#define MACHINE SH4RT_R2D
#define MACHINE_NAME "r2d"
#define PERIPHERAL_MHZ 60u /* Pphi of the R2D's SH7751R, as qemu's SH7750 model clocks the TMU */
#else
#error "define SH4RT_MACHINE_DREAMCAST or SH4RT_MACHINE_R2D"
#endif

uint32_t sh4_machine(void) { return MACHINE; }
const char *sh4_machine_name(void) { return MACHINE_NAME; }

/* ---- SCIF (serial port with FIFO) ---- */
#define SCIF(off, T) (*(volatile T *)(0xFFE80000u + (off)))
#define SCSCR2 SCIF(0x08, uint16_t)
#define SCFTDR2 SCIF(0x0C, uint8_t)
#define SCFSR2 SCIF(0x10, uint16_t)
#define SCFDR2 SCIF(0x1C, uint16_t) /* bits 12..8: bytes waiting in the transmit FIFO */

static void scif_init(void)
{
  SCSCR2 = SCSCR2 | 0x0020; /* TE: transmitter on; baud rate and format stay as the loader set them */
}

void sh4_putc(char c)
{
  /* Poll the FIFO count, not SCFSR2.TDFE: gxemul starts with TDFE clear. */
  while (((SCFDR2 >> 8) & 0x1f) >= 16)
    ;
  SCFTDR2 = (uint8_t)c;
  SCFSR2 = SCFSR2 & ~0x0060; /* clear TDFE and TEND (write 0 after reading 1) */
}

void sh4_flush(void)
{
  for (int i = 0; i < 1000000 && ((SCFDR2 >> 8) & 0x1f) != 0; i++)
    ;
}

void sh4_write(const void *p, size_t n)
{
  const char *s = p;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n')
      sh4_putc('\r');
    sh4_putc(s[i]);
  }
}

void sh4_puts(const char *s) { sh4_write(s, strlen(s)); }

void sh4_puthex(uint32_t v)
{
  char b[10] = {'0', 'x'};
  for (int i = 0; i < 8; i++)
    b[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
  sh4_write(b, 10);
}

void sh4_putdec(uint32_t v)
{
  char b[10];
  int i = 10;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sh4_write(b + i, 10 - i);
}

/* ---- TMU channel 0 ---- */
#define TSTR (*(volatile uint8_t *)0xFFD80004u)
#define TCOR0 (*(volatile uint32_t *)0xFFD80008u)
#define TCNT0 (*(volatile uint32_t *)0xFFD8000Cu)
#define TCR0 (*(volatile uint16_t *)0xFFD80010u)

static uint32_t ticks_last, ticks_high;

static void timer_start(void)
{
  TSTR = TSTR & ~1u;   /* stop channel 0 */
  TCR0 = 0;            /* Pphi/4, no underflow interrupt */
  TCOR0 = 0xFFFFFFFFu; /* reload value: count the whole 32-bit range */
  TCNT0 = 0xFFFFFFFFu;
  TSTR = TSTR | 1u;    /* start it */
}

uint64_t sh4_ticks(void)
{
  uint32_t now = 0xFFFFFFFFu - TCNT0; /* it counts down */
  if (now < ticks_last)
    ticks_high++;
  ticks_last = now;
  return ((uint64_t)ticks_high << 32) | now;
}

uint64_t sh4_micros(void) { return sh4_ticks() * 4u / PERIPHERAL_MHZ; }

uint32_t sh4_ticks_hz(void) { return PERIPHERAL_MHZ * 1000000u / 4u; }

/* ---- operand cache ---- */
void sh4_sync_cache(uint32_t addr, uint32_t len)
{
  uint32_t end = addr + len;
  for (uint32_t line = addr & ~31u; line < end; line += 32)
    __asm__ volatile("ocbp @%0" : : "r"(line) : "memory");
}

/* ---- start, exit ---- */
int main(void);

void sh4_start(void) __attribute__((noreturn));
void sh4_start(void)
{
  scif_init();
  timer_start();
  exit(main());
}

void exit(int code)
{
  /* The runners read the status from this line: the Dreamcast BIOS's exit takes none, and
     qemu's power-off always ends qemu with status 0. */
  sh4_puts("flight-sh4: exit ");
  sh4_putdec((uint32_t)code);
  sh4_puts("\n");
  sh4_flush();
#if defined(SH4RT_MACHINE_DREAMCAST)
  /* The BIOS's system-call vector at 0x8C0000E0; r4 = 1 goes back to the BIOS menu. gxemul
     emulates the BIOS and stops the machine there. */
  (*(void (**)(int))0x8C0000E0u)(1);
#else
  *(volatile uint16_t *)0xA4000030u = 1; /* the R2D's FPGA power-off register */
#endif
  for (;;)
    ;
}

void sh4_fatal(const char *msg)
{
  sh4_puts("flight-sh4: fatal: ");
  sh4_puts(msg);
  sh4_puts("\n");
  exit(120);
}

void abort(void)
{
  sh4_puts("flight-sh4: abort\n");
  exit(134);
}

void flight_wasm_assert_fail(const char *expr, const char *file, int line)
{
  sh4_puts("flight-sh4: assertion failed: ");
  sh4_puts(expr);
  sh4_puts(" at ");
  sh4_puts(file);
  sh4_puts(":");
  sh4_putdec((uint32_t)line);
  sh4_puts("\n");
  exit(134);
}

/* ---- exception reporter ---- */
#define TRA (*(volatile uint32_t *)0xFF000020u)
#define TEA (*(volatile uint32_t *)0xFF00000Cu)
#define INTEVT (*(volatile uint32_t *)0xFF000028u)

static const char *exception_name(uint32_t expevt)
{
  switch (expevt) {
  case 0x040: return "TLB miss on read";
  case 0x060: return "TLB miss on write";
  case 0x0A0: return "TLB protection violation on read";
  case 0x0C0: return "TLB protection violation on write";
  case 0x0E0: return "address error on read";
  case 0x100: return "address error on write";
  case 0x120: return "FPU exception";
  case 0x140: return "initial page write";
  case 0x160: return "unconditional trap";
  case 0x180: return "illegal instruction";
  case 0x1A0: return "illegal slot instruction";
  case 0x1E0: return "user break";
  case 0x800: return "FPU disabled";
  case 0x820: return "FPU disabled in a delay slot";
  }
  return "unknown exception";
}

/* Called from the vectors in crt0.S with SR.BL=1, on the exception stack. Prints one line the
   runners recognise ("!!! CPU exception: ..."), then ends the run with status 139. */
void sh4_exception(uint32_t expevt, uint32_t spc, uint32_t vector, uint32_t r15)
{
  sh4_puts("\n!!! CPU exception: ");
  if (vector == 6) {
    sh4_puts("interrupt, INTEVT ");
    sh4_puthex(INTEVT);
  } else {
    sh4_puts(exception_name(expevt));
    if (expevt == 0x160) {
      sh4_puts(" trapa #");
      sh4_putdec(TRA >> 2);
    }
    sh4_puts(" (EXPEVT ");
    sh4_puthex(expevt);
    sh4_puts(")");
  }
  sh4_puts(" at pc ");
  sh4_puthex(spc);
  sh4_puts(", address ");
  sh4_puthex(TEA);
  sh4_puts(", r15 ");
  sh4_puthex(r15);
  sh4_puts(", vector VBR+");
  sh4_puthex(vector << 8);
  sh4_puts("\n");
  exit(139);
}
