/* The SH-4's port of the frame loop of merged components (rt/wasm2c/src/frames.c): its
   output on the SCIF, its clock the TMU, and main(), whose status the runtime exits with. */
#include "flight-components.h"
#include "sh4rt.h"

void flight_console_write(const char *text, uint32_t len) { sh4_write(text, len); }
uint64_t flight_ticks(void) { return sh4_ticks(); }
uint32_t flight_ticks_hz(void) { return sh4_ticks_hz(); }
const char *flight_console_name(void) { return sh4_machine_name(); }

int main(void) { return flight_components_main(); }
