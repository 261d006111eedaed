/* The frame loop of merged components, the same on every console (see flight-components.h):
   what `flight run` does on the host, printing the same lines, and the frame time of the
   planned, the checked and the unchecked module in the console's ticks. */
#include <string.h>
#include "flight-components.h"
#include "wasm-rt-flight.h"

/* A line being written (a longer one is cut, keeping its newline). */
struct line {
  char text[256];
  uint32_t used;
};

static void put(struct line *l, const char *s)
{
  while (*s && l->used < sizeof l->text - 1)
    l->text[l->used++] = *s++;
}

static void put_dec(struct line *l, uint64_t v)
{
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n && l->used < sizeof l->text - 1)
    l->text[l->used++] = digits[--n];
}

static void put_int(struct line *l, int32_t v)
{
  if (v < 0) {
    put(l, "-");
    put_dec(l, (uint64_t)(-(int64_t)v));
  } else {
    put_dec(l, (uint64_t)v);
  }
}

/* `digits` hexadecimal digits of v, lower case. */
static void put_hex(struct line *l, uint32_t v, int digits)
{
  while (digits-- > 0 && l->used < sizeof l->text - 1)
    l->text[l->used++] = "0123456789abcdef"[(v >> (4 * digits)) & 15];
}

/* How many hexadecimal digits v needs (at least one). */
static int hex_digits(uint32_t v)
{
  int digits = 1;
  while (digits < 8 && (v >> (4 * digits)))
    digits++;
  return digits;
}

/* An address as the host prints one (flight_memory::Address): 0x8011_0010, 0x1_0000_0000. */
static void put_address(struct line *l, uint64_t a)
{
  uint32_t hi = (uint32_t)(a >> 32), lo = (uint32_t)a;
  put(l, "0x");
  if (hi > 0xffff) {
    put_hex(l, hi >> 16, hex_digits(hi >> 16));
    put(l, "_");
    put_hex(l, hi & 0xffff, 4);
    put(l, "_");
  } else if (hi) {
    put_hex(l, hi, hex_digits(hi));
    put(l, "_");
  }
  put_hex(l, lo >> 16, 4);
  put(l, "_");
  put_hex(l, lo & 0xffff, 4);
}

/* Prints the line and starts it afresh. */
static void end_line(struct line *l)
{
  l->text[l->used++] = '\n';
  flight_console_write(l->text, l->used);
  l->used = 0;
}

/* The CPU address of an address of the merged memory (as the host's Components::cpu). */
static uint64_t cpu_address(uint64_t a)
{
  for (uint32_t i = 0; i < flight_window_count; i++)
    if (flight_windows[i].start <= a && a < flight_windows[i].end)
      return flight_windows[i].cpu + (a - flight_windows[i].start);
  return a;
}

const struct flight_window *flight_budget(uint32_t i)
{
  return i < flight_window_count ? &flight_windows[i] : 0;
}

/* What the table says of a code (`words[code]`), or of no code it knows. */
static const char *words(const char *const *table, uint32_t count, uint64_t code)
{
  return code < count && table[code] ? table[code] : "a trap this runtime does not know";
}

/* Prints why `c` trapped (when `print`) and clears its trap export. */
static void report(const struct flight_component *c, void *instance, int code, int print)
{
  uint64_t value = 0;
  if (c->trap) {
    uint64_t *g = c->trap(instance);
    value = *g;
    *g = 0;
  }
  if (!print)
    return;
  static struct line l;
  uint64_t kind = value >> flight_trap_shift;
  put(&l, "trap ");
  put(&l, c->name);
  put(&l, ": ");
  if (value != 0) {
    put(&l, words(flight_check_kinds, flight_check_kind_count, kind));
    put(&l, " at ");
    put_address(&l, cpu_address(value & ((1ull << flight_trap_shift) - 1)));
  } else {
    put(&l, words(flight_native_traps, flight_native_trap_count, (uint64_t)code));
  }
  end_line(&l);
}

static void zero_segments(void)
{
  for (uint32_t i = 0; i < flight_zeroed_count; i++)
    memset((void *)flight_zeroed[i].cpu, 0, flight_zeroed[i].end - flight_zeroed[i].start);
}

/* Calls one export under the trap handler; the trap code, 0 if none. */
static int attach(const struct flight_component *c, void *instance, uint32_t index)
{
  int trap;
  FLIGHT_WASM_TRY(trap);
  if (trap == 0) {
    c->attach(instance, index, c->shared[index]);
    FLIGHT_WASM_END();
  }
  return trap;
}

static int frame(const struct flight_component *c, void *instance, uint32_t n, int32_t *result)
{
  int trap;
  FLIGHT_WASM_TRY(trap);
  if (trap == 0) {
    *result = (int32_t)c->frame(instance, n);
    FLIGHT_WASM_END();
  }
  return trap;
}

/* Runs `m` for flight_frames frames, printing its lines when `print`; adds the ticks each
   component's frames took to ticks[i]; returns the ticks of all (printing excluded). */
static uint64_t run(const struct flight_module *m, int print, uint64_t *per_component)
{
  static struct line l;
  zero_segments();
  /* No instance made before is used again: this one takes the tables afresh. */
  flight_wasm_release_tables();
  void *instance = m->instantiate();
  for (uint32_t i = 0; i < m->count; i++) {
    const struct flight_component *c = &m->components[i];
    for (uint32_t s = 0; c->attach && s < c->shared_count; s++) {
      int trap = attach(c, instance, s);
      if (trap)
        report(c, instance, trap, print);
    }
  }
  uint64_t ticks = 0;
  for (uint32_t n = 0; n < flight_frames; n++) {
    /* A trap's line comes before the frame's, as on the host. */
    put(&l, "frame ");
    put_dec(&l, n);
    put(&l, ":");
    for (uint32_t i = 0; i < m->count; i++) {
      const struct flight_component *c = &m->components[i];
      int32_t result = 0;
      uint64_t start = flight_ticks();
      int trap = frame(c, instance, n, &result);
      uint64_t took = flight_ticks() - start;
      ticks += took;
      per_component[i] += took;
      if (trap)
        report(c, instance, trap, print);
      put(&l, " ");
      put(&l, c->name);
      put(&l, "=");
      if (trap)
        put(&l, "trap");
      else
        put_int(&l, result);
    }
    if (print)
      end_line(&l);
    else
      l.used = 0;
  }
  return ticks;
}

/* "N.NNx": `a` over `b`. */
static void put_ratio(struct line *l, uint64_t a, uint64_t b)
{
  uint64_t ratio = b ? (a * 100 + b / 2) / b : 0;
  put_dec(l, ratio / 100);
  put(l, ".");
  put_dec(l, ratio / 10 % 10);
  put_dec(l, ratio % 10);
  put(l, "x");
}

int flight_components_main(void)
{
  static struct line l;
  wasm_rt_init();
  put(&l, "@@BEGIN@@");
  end_line(&l);
  static uint64_t printed_each[FLIGHT_MAX_COMPONENTS], planned_each[FLIGHT_MAX_COMPONENTS],
      checked_each[FLIGHT_MAX_COMPONENTS], unchecked_each[FLIGHT_MAX_COMPONENTS];
  /* The lines, then each module timed alike: silent, so that no module's frames pay for the
     printing (its time, and the code and data it moves through the caches). */
  run(&flight_planned, 1, printed_each);
  uint64_t planned = run(&flight_planned, 0, planned_each);
  /* Masked components: the checked module is another one, timed apart. */
  int masks = flight_checked.components != flight_planned.components;
  uint64_t checked = planned;
  if (masks)
    checked = run(&flight_checked, 0, checked_each);
  else
    memcpy(checked_each, planned_each, sizeof checked_each);
  uint64_t unchecked = run(&flight_unchecked, 0, unchecked_each);
  uint64_t frames = flight_frames ? flight_frames : 1;
  put(&l, "time ");
  put(&l, flight_console_name());
  put(&l, " components: frame ");
  if (masks) {
    put_dec(&l, planned / frames);
    put(&l, " ticks as planned, ");
    put_dec(&l, checked / frames);
    put(&l, " checked, ");
  } else {
    put_dec(&l, checked / frames);
    put(&l, " ticks checked, ");
  }
  put_dec(&l, unchecked / frames);
  put(&l, " unchecked (");
  if (masks) {
    put(&l, "as planned ");
    put_ratio(&l, planned, unchecked);
    put(&l, ", checked ");
  }
  put_ratio(&l, checked, unchecked);
  put(&l, "), at ");
  put_dec(&l, flight_ticks_hz());
  put(&l, " Hz, mean of ");
  put_dec(&l, flight_frames);
  put(&l, " frames");
  end_line(&l);
  for (uint32_t i = 0; i < flight_planned.count; i++) {
    const struct flight_component *c = &flight_planned.components[i];
    put(&l, "time ");
    put(&l, flight_console_name());
    put(&l, " component ");
    put(&l, c->name);
    put(&l, ": frame ");
    if (c->masked) {
      put_dec(&l, planned_each[i] / frames);
      put(&l, " ticks masked, ");
      put_dec(&l, checked_each[i] / frames);
      put(&l, " checked, ");
    } else {
      put_dec(&l, checked_each[i] / frames);
      put(&l, " ticks checked, ");
    }
    put_dec(&l, unchecked_each[i] / frames);
    put(&l, " unchecked");
    end_line(&l);
  }
  put(&l, "@@END@@");
  end_line(&l);
  return 0;
}
